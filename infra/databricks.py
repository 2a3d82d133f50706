"""All Databricks workloads of one environment, on an explicit provider built from the workspace.

Order of creation follows the data: provider -> identities (job principal, its rule set, the
deployer) -> Unity Catalog (grants name the principal) -> wheel upload (into the volume) ->
experiment + registered model -> secret scope -> jobs (run as the principal, after its rule set,
installing the uploaded wheel) -> serving endpoint and monitor, once what they need exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Self

import pulumi
import pulumi_databricks as databricks
from pydantic import Field, model_validator

from core.environment import Environment
from infra.artifacts import WheelArtifact, WheelArtifactArgs
from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.databricks_provider import DatabricksAuthType, create_provider, workspace_url
from infra.job_graph import read_wheel
from infra.jobs import (
    ComputeMode,
    DriftThresholds,
    JobCluster,
    JobsArgs,
    WheelJobs,
    check_parameters,
    job_name,
)
from infra.model_monitoring import PREDICTIONS_TABLE, ModelMonitor, ModelMonitorArgs, table_exists
from infra.secret_scope import JobSecretScope, SecretScopeArgs
from infra.serving import (
    ModelRegistry,
    ModelRegistryArgs,
    ServingEndpoint,
    ServingEndpointArgs,
    WorkloadSize,
    champion_version,
)
from infra.unity_catalog import Role, UnityCatalog, UnityCatalogArgs
from infra.workload_identity import WorkloadIdentity, WorkloadIdentityArgs

_UC_NAME = r"^[a-z][a-z0-9_]{0,254}$"


class DatabricksWorkloadsArgs(ComponentArgs):
    """Everything one environment's Databricks workloads need; the lead maps StackSettings here."""

    environment: Environment = Field(description="The stack's environment.")
    name_prefix: str = Field(
        default="mlops", pattern=r"^[a-z][a-z0-9-]{1,20}$", description="Physical names."
    )
    # Workspace and provider (docs/traps.md: explicit-provider)
    workspace_host: StrInput = Field(description="Workspace URL (the workspace's workspaceUrl output).")
    workspace_resource_id: StrInput = Field(description="Azure resource id of the Databricks workspace.")
    auth_type: DatabricksAuthType = Field(default=DatabricksAuthType.AZURE_CLI, description="Provider auth.")
    deployer_client_id: StrInput | None = Field(
        default=None, description="github-oidc-azure: deployer client id."
    )
    tenant_id: StrInput | None = Field(default=None, description="Entra tenant id (required for OIDC).")
    # Identities (who deploys, and whom the deployers may run jobs as)
    account_id: str = Field(description="Databricks account id (rule set names carry it).")
    deployers_group: str = Field(
        min_length=1, description="Account group of the deployer and the bootstrappers; owns UC objects."
    )
    deployer_application_id: StrInput = Field(
        description="Client id of the deployer managed identity, registered in the workspace."
    )
    preview_application_id: StrInput = Field(
        description="Client id of the bootstrap's PR-preview identity, registered read-only in the workspace."
    )
    # Unity Catalog
    access_connector_id: StrInput = Field(description="Azure resource id of the access connector.")
    uc_storage_access: pulumi.Resource = Field(
        description="The access connector's role on the UC storage: credential and location wait for it."
    )
    uc_storage_root: StrInput = Field(description="abfss://<container>@<account>.dfs.core.windows.net/")
    catalog: str = Field(pattern=_UC_NAME, description="The environment's catalog.")
    schema_name: str = Field(default="iris", pattern=_UC_NAME, description="Schema for tables and the model.")
    readers_group: str = Field(min_length=1, description="Group that may read the schema and use the model.")
    developers_group: str = Field(min_length=1, description="Group of the data scientists.")
    approvers_group: str = Field(
        min_length=1, description="Group whose members approve a new champion where approval is required."
    )
    # Jobs
    wheel_path: Path = Field(description="The wheel in dist/, or dist/ itself (exactly one wheel).")
    project_root: Path | None = Field(
        default=None, description="Local paths are recorded relative to it, so every checkout plans alike."
    )
    compute_mode: ComputeMode = Field(default=ComputeMode.SERVERLESS, description="Job compute.")
    cluster: JobCluster = Field(default_factory=JobCluster, description="Job clusters only: runtime, size.")
    failure_notification_emails: tuple[str, ...] = Field(default=(), description="Mailed on failed runs.")
    schedules_paused: bool | None = Field(default=None, description="None: paused in sandbox/dev only.")
    # ML parameters the job graph's tasks receive
    model_name: str = Field(default="iris_classifier", pattern=_UC_NAME, description="UC model name.")
    primary_metric: str = Field(default="accuracy", min_length=1, description="Metric of the gate.")
    margin: float = Field(default=0.0, ge=0.0, description="Challenger must beat champion by this.")
    require_approval: bool | None = Field(default=None, description="None: required in uat/prod.")
    drift: DriftThresholds = Field(
        default_factory=DriftThresholds, description="When the monitoring job calls drift and retrains."
    )
    # Serving and monitoring
    create_serving_endpoint: bool = Field(
        default=False, description="Serve the champion; created by the first up after the alias exists."
    )
    serving_workload_size: WorkloadSize = Field(default=WorkloadSize.SMALL)
    serving_scale_to_zero: bool = Field(default=True, description="Must be false in prod.")
    model_monitoring: bool = Field(default=False, description="Monitor the predictions table (uat/prod).")
    # Lifecycle
    protect: bool | None = Field(default=None, description="None: protect stateful objects in prod.")
    tags: Mapping[str, str] = Field(default_factory=dict, description="Tags on jobs and the endpoint.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        oidc = self.auth_type is DatabricksAuthType.GITHUB_OIDC_AZURE
        checks = {
            "serving_scale_to_zero must be false in prod": self.environment is Environment.PROD
            and self.serving_scale_to_zero,
            "auth_type github-oidc-azure needs deployer_client_id and tenant_id": oidc
            and (self.deployer_client_id is None or self.tenant_id is None),
            "failure_notification_emails must be e-mail addresses": any(
                "@" not in e for e in self.failure_notification_emails
            ),
        }
        problems = [message for message, failed in checks.items() if failed]
        if problems:
            raise ValueError(f"{self.environment.value}: " + "; ".join(problems))
        return self

    @property
    def production_like(self) -> bool:
        return self.environment.is_production_like

    def physical(self, suffix: str) -> str:
        return f"{self.name_prefix}-{self.environment.value}-{suffix}"

    @property
    def endpoint_name(self) -> str:
        return self.physical(self.model_name.replace("_", "-"))

    @property
    def experiment_name(self) -> str:
        return f"/Shared/{self.physical(self.model_name)}"

    @property
    def approval_required(self) -> bool:
        return self.production_like if self.require_approval is None else self.require_approval

    def parameter_values(self) -> dict[str, str]:
        """The value of every named parameter a task of the job graph may ask for."""
        approval = self.approval_required
        return {
            "env": self.environment.value,
            "catalog": self.catalog,
            "schema": self.schema_name,
            "model_name": self.model_name,
            "primary_metric": self.primary_metric,
            "margin": str(self.margin),
            "require_approval": "true" if approval else "false",
            "endpoint_name": self.endpoint_name,
            "experiment_name": self.experiment_name,
            "drift_psi_threshold": str(self.drift.psi),
            "drift_p_value": str(self.drift.p_value),
            "drift_min_rows": str(self.drift.min_rows),
            # The job a drift alert starts (iris_mlops.retrain): this environment's training job.
            "training_job_name": job_name(self.name_prefix, self.environment, "training"),
            # The training job's job parameter default: not started by a drift alert.
            "drift_summary": "{}",
        }


# The component's outputs: typed attributes below, registered under the same keys.
OUTPUTS = (
    "workspace_url",
    "service_principal_application_id",
    "catalog_name",
    "schema_name",
    "wheel_volume_path",
    "job_ids",
    "registered_model_name",
    "experiment_name",
    "secret_scope_name",
    "serving_endpoint_name",
)


class DatabricksWorkloads(PlatformComponent):
    AREA = "databricks"

    workspace_url: pulumi.Output[str]
    service_principal_application_id: pulumi.Output[str]
    catalog_name: pulumi.Output[str]
    schema_name: pulumi.Output[str]
    wheel_volume_path: str
    job_ids: dict[str, pulumi.Output[str]]
    registered_model_name: pulumi.Output[str]
    experiment_name: str
    secret_scope_name: pulumi.Output[str]
    serving_endpoint_name: pulumi.Output[str | None] | None

    def __init__(
        self, name: str, args: DatabricksWorkloadsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Everything that can fail on the inputs fails here, before any resource is registered.
        wheel = read_wheel(args.wheel_path)
        parameter_values = args.parameter_values()
        check_parameters(wheel.graph, parameter_values)
        super().__init__(name, opts)
        env = args.environment
        protect = env is Environment.PROD if args.protect is None else args.protect
        provider = create_provider(
            f"{name}-provider",
            host=args.workspace_host,
            workspace_resource_id=args.workspace_resource_id,
            auth_type=args.auth_type,
            azure_client_id=args.deployer_client_id,
            azure_tenant_id=args.tenant_id,
            opts=self.child_opts(),
        )
        identity = WorkloadIdentity(
            f"{name}-identity",
            WorkloadIdentityArgs(
                environment=env,
                display_name=args.physical("jobs"),
                account_id=args.account_id,
                deployers_group=args.deployers_group,
                deployer_application_id=args.deployer_application_id,
                deployer_display_name=args.physical("deployer"),
                preview_application_id=args.preview_application_id,
                preview_display_name=args.physical("preview"),
                provider=provider,
            ),
            self.child_opts(),
        )
        principals: dict[Role, StrInput] = {
            Role.JOB_PRINCIPAL: identity.application_id,
            Role.DEVELOPERS: args.developers_group,
            Role.READERS: args.readers_group,
            Role.DEPLOYERS: args.deployers_group,
            Role.PREVIEW: identity.preview_application_id,
        }
        if args.approval_required:
            # Tags the challenger approved, then starts the release job (docs/ml.md, approval).
            principals[Role.APPROVERS] = args.approvers_group
        catalog = UnityCatalog(
            f"{name}-uc",
            UnityCatalogArgs(
                environment=env,
                name_prefix=args.name_prefix,
                access_connector_id=args.access_connector_id,
                storage_root=args.uc_storage_root,
                catalog=args.catalog,
                schema_name=args.schema_name,
                principals=principals,
                owner=args.deployers_group,
                storage_access=args.uc_storage_access,
                protect=protect,
                provider=provider,
            ),
            self.child_opts(),
        )
        artifact = WheelArtifact(
            f"{name}-artifact",
            WheelArtifactArgs(
                wheel=wheel,
                volume_path=catalog.volume_path,
                volume=catalog.volume,
                source_root=args.project_root,
                provider=provider,
            ),
            self.child_opts(),
        )
        registry = ModelRegistry(
            f"{name}-registry",
            ModelRegistryArgs(
                environment=env,
                experiment_name=args.experiment_name,
                catalog_name=catalog.catalog_name,
                schema_name=catalog.schema_name,
                model_name=args.model_name,
                principals=principals,
                developers_group=args.developers_group,
                protect=protect,
                provider=provider,
            ),
            self.child_opts(),
        )
        scope = JobSecretScope(
            f"{name}-secrets",
            SecretScopeArgs(
                environment=env,
                scope_name=args.physical("jobs"),
                principals=principals,
                provider=provider,
            ),
            self.child_opts(),
        )
        jobs = WheelJobs(
            f"{name}-jobs",
            JobsArgs(
                environment=env,
                name_prefix=args.name_prefix,
                graph=wheel.graph,
                wheel_path=artifact.path,
                wheel_upload=artifact.file,
                parameter_values=parameter_values,
                run_as=identity.application_id,
                run_as_role=identity.run_as_role,
                compute_mode=args.compute_mode,
                cluster=args.cluster,
                failure_emails=args.failure_notification_emails,
                schedules_paused=not args.production_like
                if args.schedules_paused is None
                else args.schedules_paused,
                developers_group=args.developers_group,
                approvers_group=args.approvers_group if args.approval_required else None,
                preview_principal=identity.preview_application_id,
                tags=args.tags,
                provider=provider,
            ),
            self.child_opts(),
        )
        self.serving_endpoint_name = None
        if args.create_serving_endpoint:
            champion = champion_version(
                registry.model_full_name,
                after=[registry.model, registry.model_grants],
                provider=provider,
                parent=self,
            )

            def serve(version: str | None) -> str | None:
                # Registered once the champion is known: nothing to serve before training set it.
                if version is None:
                    return None
                ServingEndpoint(
                    f"{name}-serving",
                    ServingEndpointArgs(
                        environment=env,
                        endpoint_name=args.endpoint_name,
                        model_full_name=registry.model_full_name,
                        model=registry.model,
                        model_grants=registry.model_grants,
                        initial_model_version=version,
                        workload_size=args.serving_workload_size,
                        scale_to_zero=args.serving_scale_to_zero,
                        catalog_name=catalog.catalog_name,
                        schema_name=catalog.schema_name,
                        job_principal=identity.application_id,
                        developers_group=args.developers_group,
                        preview_principal=identity.preview_application_id,
                        tags={**args.tags, "environment": env.value},
                        protect=protect,
                        provider=provider,
                    ),
                    self.child_opts(),
                )
                return args.endpoint_name

            self.serving_endpoint_name = champion.apply(serve)
        if args.model_monitoring:
            self._monitor(name, args, catalog, provider)
        self.workspace_url = workspace_url(args.workspace_host)
        self.service_principal_application_id = identity.application_id
        self.catalog_name, self.schema_name = catalog.catalog_name, catalog.schema_name
        self.wheel_volume_path = artifact.path
        self.job_ids = jobs.job_ids
        self.registered_model_name = registry.model_full_name
        self.experiment_name = args.experiment_name
        self.secret_scope_name = scope.scope_name
        self.register(**{key: getattr(self, key) for key in OUTPUTS})

    def _monitor(
        self, name: str, args: DatabricksWorkloadsArgs, catalog: UnityCatalog, provider: databricks.Provider
    ) -> None:
        """The quality monitor, registered once the predictions table it watches exists."""
        exists = table_exists(
            catalog.catalog_name,
            catalog.schema_name,
            PREDICTIONS_TABLE,
            after=[catalog.schema],
            provider=provider,
            parent=self,
        )

        def monitor(found: bool) -> bool:
            if found:
                ModelMonitor(
                    f"{name}-monitoring",
                    ModelMonitorArgs(
                        table_name=pulumi.Output.concat(
                            catalog.catalog_name, ".", catalog.schema_name, ".", PREDICTIONS_TABLE
                        ),
                        output_schema=pulumi.Output.concat(catalog.catalog_name, ".", catalog.schema_name),
                        assets_dir=f"/Workspace/Shared/{args.physical('monitoring')}",
                        failure_emails=args.failure_notification_emails,
                        provider=provider,
                    ),
                    self.child_opts(),
                )
            return found

        exists.apply(monitor)
