"""The typed, immutable settings of one environment: the schema of ``Pulumi.<stack>.yaml``.

Every key lives under the ``mlops-platform:`` namespace; top-level keys are the sections below
(``platform``, ``monitoring``, ...) and their fields are camelCase. Values that do not differ
between environments are the field defaults here; the per-environment ones are in ``defaults.py``.
"""

from __future__ import annotations

import ipaddress
import typing

from mlops_framework.vocabulary import DECISION_DEFAULTS
from pydantic import BaseModel, Field, model_validator

from core.environment import Environment
from infra.access import DeveloperAccess
from infra.bootstrap_interface import BootstrapOutputs
from infra.jobs import DEFAULT_NODE_TYPE, DEFAULT_SPARK_VERSION, ComputeMode
from stacks.projects import ProjectDefaults, ProjectSettings
from stacks.settings_base import Section
from stacks.types import (
    LOWERCASE_GUID_PATTERN,
    AzureLocation,
    Cidr,
    ConfigKey,
    Email,
    GithubName,
    GithubSecretName,
    KeyVaultSku,
    NamePrefix,
    NetworkDefaultAction,
    StorageSku,
    SubscriptionId,
    UcIdentifier,
)

SMALLEST_DATABRICKS_SUBNET = 26  # Azure Databricks refuses VNet-injection subnets smaller than /26


class PlatformSettings(Section):
    # Required in every stack file: a stack lives in one subscription, and the program refuses to
    # run when the logged-in one differs (stacks/program.py), instead of planning replacements.
    subscription_id: SubscriptionId = Field(
        alias="subscriptionId",
        description="Azure subscription (GUID) this stack deploys into; the login must be to it",
    )
    location: AzureLocation = Field("westeurope", description="Azure region of every resource")
    name_prefix: NamePrefix = Field(
        "mlops",
        description="start of every Azure name: lowercase letters, digits, single hyphens; at most 12",
    )
    name_suffix_rotation: int = Field(
        0, ge=0, le=999, description="bump to get new globally unique names (escape a soft-deleted vault)"
    )
    owner: str = Field("platform-team", min_length=1, description="`owner` tag: who to call")
    cost_center: str = Field("mlops", min_length=1, description="`cost-center` tag")


class ProtectionSettings(Section):
    protect_stateful: bool = Field(False, description="`protect=True` on RG, vault, storage, workspaces")
    delete_lock: bool = Field(False, description="CanNotDelete management lock on the resource group")
    retain_on_delete: bool = Field(False, description="keep stateful resources in Azure if removed from code")


class MonitoringSettings(Section):
    retention_days: int = Field(30, ge=30, le=730, description="Log Analytics retention in days")
    alert_emails: tuple[Email, ...] = Field((), description="who the failed-job alert e-mails")
    failed_job_alert: bool = Field(True, description="scheduled-query alert on failed Databricks jobs")
    drift_alert: bool = Field(
        True, description="scheduled-query alert when the monitoring job starts the training job on drift"
    )
    drift_alert_severity: int = Field(
        3, ge=0, le=4, description="the drift alert's severity: 0 critical ... 2 warning, 3 info, 4 verbose"
    )


class KeyVaultSettings(Section):
    sku: KeyVaultSku = Field(KeyVaultSku.STANDARD, description="Key Vault SKU")
    soft_delete_retention_days: int = Field(90, ge=7, le=90, description="days a deleted vault is kept")
    purge_protection: bool = Field(False, description="purge protection; can never be turned off again")
    network_default_action: NetworkDefaultAction = Field(
        NetworkDefaultAction.ALLOW, description="what the vault firewall does with unmatched traffic"
    )
    allowed_ip_ranges: tuple[Cidr, ...] = Field((), description="IPv4 ranges let through the vault firewall")
    secrets: dict[GithubSecretName, ConfigKey] = Field(
        default_factory=dict,
        description="vault secret name (UPPER_SNAKE_CASE) -> the Pulumi secret config key holding its value",
    )


class VnetInjectionSettings(Section):
    enabled: bool = Field(False, description="deploy the workspace into a VNet this stack creates")
    address_space: Cidr = Field("10.20.0.0/16", description="VNet address space")
    public_subnet_cidr: Cidr = Field("10.20.0.0/22", description="host (public) subnet")
    private_subnet_cidr: Cidr = Field("10.20.4.0/22", description="container (private) subnet")

    @model_validator(mode="after")
    def _subnets_fit_the_vnet(self) -> VnetInjectionSettings:
        if not self.enabled:
            return self
        space = ipaddress.IPv4Network(self.address_space)
        public = ipaddress.IPv4Network(self.public_subnet_cidr)
        private = ipaddress.IPv4Network(self.private_subnet_cidr)
        problems = [
            f"{key} {subnet} is not inside addressSpace {space}"
            for key, subnet in (("publicSubnetCidr", public), ("privateSubnetCidr", private))
            if not subnet.subnet_of(space)
        ]
        if public.overlaps(private):
            problems.append(f"publicSubnetCidr {public} overlaps privateSubnetCidr {private}")
        problems += [
            f"{key} {subnet} is smaller than /26, the minimum Databricks accepts"
            for key, subnet in (("publicSubnetCidr", public), ("privateSubnetCidr", private))
            if subnet.prefixlen > SMALLEST_DATABRICKS_SUBNET
        ]
        if problems:
            raise ValueError(
                "; ".join(problems) + "; allowed: two non-overlapping subnets inside addressSpace"
            )
        return self


class WorkspaceSettings(Section):
    no_public_ip: bool = Field(True, description="secure cluster connectivity: no public IP on cluster nodes")
    storage_sku: StorageSku = Field(
        StorageSku.STANDARD_LRS, description="redundancy of the UC storage account"
    )
    vnet_injection: VnetInjectionSettings = Field(
        default_factory=VnetInjectionSettings, description="optional VNet injection"
    )


class GithubSettings(Section):
    """The repository whose GitHub environment of this stack's name the deployer trusts. Who may run
    a job in that environment, and who approves, is the bootstrap's (core/deployments.py)."""

    owner: GithubName = Field(alias="owner", description="GitHub organisation or user owning the repo")
    repository: GithubName = Field(alias="repository", description="repository name (without owner)")


class DatabricksSettings(Section):
    catalog: UcIdentifier = Field(description="Unity Catalog catalog of this environment", alias="catalog")
    account_id: str = Field(
        alias="accountId",
        pattern=LOWERCASE_GUID_PATTERN,
        description="Databricks account id (a GUID, account console); names the job principal's rule set",
    )
    deployers_group: str = Field(
        min_length=1,
        description="account group that owns this environment's UC objects: its deployer identity, and in "
        "prod no person; one per environment, never shared (docs/security.md, trust model)",
    )
    readers_group: str = Field("mlops-readers", min_length=1, description="account group granted read")
    developer_access: DeveloperAccess = Field(
        DeveloperAccess.READ,
        description="build: developers create tables and models, run jobs, query endpoints, read "
        "secrets; read: they only look (infra/access.py)",
    )
    approvers_group: str = Field(
        "mlops-approvers",
        min_length=1,
        description="account group that approves a new champion where approval is required "
        "(APPLY TAG on the model, runs the release job; docs/ml.md, approval)",
    )
    compute_mode: ComputeMode = Field(ComputeMode.SERVERLESS, description="how jobs get compute")
    # The runtime pins live in infra/jobs.py, next to the serverless environment version
    # (docs/traps.md: runtime-pins).
    spark_version: str = Field(
        DEFAULT_SPARK_VERSION, pattern=r"^\d+\.\d+\.x-", description="Databricks runtime for job clusters"
    )
    node_type: str = Field(DEFAULT_NODE_TYPE, min_length=1, description="VM size for job clusters")
    failure_notification_emails: tuple[Email, ...] = Field(
        (), description="who jobs e-mail on failure; required: at least one in every stack"
    )
    force_destroy: bool = Field(
        False, description="destroying the catalog or schema drops their tables too (disposable stacks)"
    )
    create_serving_endpoint: bool = Field(
        False,
        description="serve the champion: the first `pulumi up` after training set its alias creates it",
    )
    model_monitoring: bool = Field(
        False, description="quality monitor on the predictions table, once a job has written it"
    )


class DriftSettings(Section):
    """The monitoring job's thresholds, passed to its task as parameters (the wheel has no table of
    its own); the defaults are what a local run without them uses (mlops_framework.vocabulary)."""

    psi_threshold: float = Field(
        DECISION_DEFAULTS.drift_psi_threshold,
        gt=0.0,
        le=10.0,
        description="a feature drifts when its PSI reaches this",
    )
    p_value: float = Field(
        DECISION_DEFAULTS.drift_p_value,
        gt=0.0,
        lt=1.0,
        description="and its two-sample test (KS; chi-square for the prediction) has a p-value below this",
    )
    min_rows: int = Field(
        DECISION_DEFAULTS.drift_min_rows,
        ge=1,
        le=10_000_000,
        description="fewer scored rows: not enough data, no alert",
    )


class ModelSettings(Section):
    require_approval: bool = Field(
        DECISION_DEFAULTS.require_approval, description="a human approves before champion changes"
    )
    drift: DriftSettings = Field(default_factory=DriftSettings)


class StackSettings(Section):
    """Everything one environment needs; built by ``stacks.loading``, never by hand in infra/."""

    environment: Environment = Field(alias="environment", description="the stack name (not a config key)")
    platform: PlatformSettings = Field(alias="platform")
    protection: ProtectionSettings = Field(default_factory=ProtectionSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    key_vault: KeyVaultSettings = Field(default_factory=KeyVaultSettings)
    workspace: WorkspaceSettings = Field(default_factory=WorkspaceSettings)
    github: GithubSettings = Field(alias="github")
    databricks: DatabricksSettings = Field(alias="databricks")
    model: ModelSettings = Field(default_factory=ModelSettings)
    project_defaults: ProjectDefaults = Field(
        default_factory=ProjectDefaults, description="what every project gets unless its entry overrides it"
    )
    projects: tuple[ProjectSettings, ...] = Field(
        alias="projects",
        description="the ML projects of this environment, one entry {name, path, overrides} each",
    )
    # The declared interface with the bootstrap project (infra/bootstrap_interface.py).
    bootstrap: BootstrapOutputs = Field(
        alias="bootstrap",
        description="the bootstrap stack's outputs previewPrincipalId and previewClientId; "
        "`make bootstrap` writes them",
    )


def promotable_keys(model: type[BaseModel] = StackSettings, prefix: str = "") -> tuple[str, ...]:
    """Dotted camelCase config paths of the fields a release promotes (``make promote`` reads it).

    A field of every list entry is ``<list>[].<field>``: ``projects[].wheelVersion`` is each
    project's pin, promoted entry by entry (matched by name).
    """
    keys: list[str] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("promotable") is True:
            keys.append(key)
        annotation = field.annotation
        if typing.get_origin(annotation) is tuple:
            annotation = typing.get_args(annotation)[0]
            key = f"{key}[]"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(promotable_keys(annotation, f"{key}."))
    return tuple(keys)
