"""Physical names: Azure's (one template and one length/charset rule per resource kind) and
Databricks' (``DatabricksNames``), each spelling the environment as ``ENVIRONMENT_SPELLINGS`` says.

Logical names (the state's identity) are ``f"{component}-<role>"`` and never change; the physical
names are what Azure and Databricks see. Globally unique names (Key Vault, storage account) end with a
short hash of ``prefix|environment|rotation|subscription``: deterministic and known at plan time
(the subscription is stack config, ``platform.subscriptionId``), different for two organisations
that both keep the default prefix, and rotated by bumping ``platform.nameSuffixRotation`` (a
destroyed Key Vault stays soft-deleted and blocks its name; docs/traps.md: soft-deleted-names).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from core.environment import ENVIRONMENT_CODES, Environment

SUFFIX_LENGTH = 4


class NameSystem(StrEnum):
    """Where a physical name lives; each system spells the environment its own way."""

    AZURE = "azure"
    DATABRICKS = "databricks"


# How each system's physical names spell the environment. Azure names are budgeted (a Key Vault or
# storage account name has at most 24 characters), so they carry the short code (core.environment).
# Databricks names (jobs, service principals, the secret scope, the serving endpoint, the
# experiment, the storage credential and external location) spell it in full, as they did when
# they were first created: renaming one replaces the object (a job loses its run history, a scope
# its secrets, an endpoint its URL and inference table), so both spellings stay.
ENVIRONMENT_SPELLINGS: Mapping[NameSystem, Mapping[Environment, str]] = MappingProxyType(
    {
        NameSystem.AZURE: MappingProxyType(ENVIRONMENT_CODES),
        NameSystem.DATABRICKS: MappingProxyType(
            {environment: environment.value for environment in Environment}
        ),
    }
)


@dataclass(frozen=True)
class DatabricksNames:
    """Every Databricks physical name of one environment: ``<prefix>-<environment>-<what>``.

    Service principal display names, the scope and the jobs are workspace-wide; the storage
    credential and the external location are metastore-wide, shared by every workspace on it, so
    the environment in them keeps two environments' objects apart.
    """

    prefix: str
    environment: Environment

    def physical(self, what: str) -> str:
        spelling = ENVIRONMENT_SPELLINGS[NameSystem.DATABRICKS][self.environment]
        return f"{self.prefix}-{spelling}-{what}"

    @property
    def job_principal(self) -> str:
        return self.physical("jobs")

    @property
    def deployer(self) -> str:
        return self.physical("deployer")

    @property
    def preview(self) -> str:
        return self.physical("preview")

    @property
    def secret_scope(self) -> str:
        return self.physical("jobs")

    @property
    def metastore_objects(self) -> str:
        """The storage credential's and the external location's name."""
        return self.physical("uc")

    def monitoring_assets(self, project: str) -> str:
        """One project's quality monitor's dashboards and assets folder: two projects' monitors
        never write their dashboards into one folder."""
        return f"/Workspace/Shared/{self.physical('monitoring')}/{project}"

    def job(self, project: str, job_key: str) -> str:
        """``<prefix>-<env>-<project>-<job>``: two projects' jobs of one key never share a name."""
        return self.physical(f"{project}-{job_key.replace('_', '-')}")

    def endpoint(self, model_name: str) -> str:
        return self.physical(model_name.replace("_", "-"))

    def experiment(self, model_name: str) -> str:
        return f"/Shared/{self.physical(model_name)}"


class ResourceKind(StrEnum):
    RESOURCE_GROUP = "resource group"
    MANAGED_RESOURCE_GROUP = "Databricks managed resource group"
    LOG_ANALYTICS = "Log Analytics workspace"
    ACTION_GROUP = "action group"
    ACTION_GROUP_SHORT = "action group short name"
    ALERT_RULE = "scheduled query rule"
    DRIFT_ALERT_RULE = "drift alert rule"
    KEY_VAULT = "Key Vault"
    STORAGE_ACCOUNT = "storage account"
    UC_CONTAINER = "Unity Catalog container"
    DATABRICKS_WORKSPACE = "Databricks workspace"
    ACCESS_CONNECTOR = "Databricks access connector"
    DEPLOYER_IDENTITY = "deployer managed identity"
    VIRTUAL_NETWORK = "virtual network"
    NETWORK_SECURITY_GROUP = "network security group"


@dataclass(frozen=True)
class NameRule:
    """Azure's limit for one kind of name, and the template that builds it."""

    template: str
    min_length: int
    max_length: int
    pattern: str
    allowed: str

    def problem(self, kind: str, name: str) -> str | None:
        """Why ``name`` breaks this rule, or None when it is valid."""
        if not self.min_length <= len(name) <= self.max_length:
            return (
                f"{kind} name {name!r} is {len(name)} characters; the {kind} budget is "
                f"{self.min_length}-{self.max_length} ({self.allowed})"
            )
        if not re.fullmatch(self.pattern, name) or "--" in name:
            return f"{kind} name {name!r} is invalid; allowed: {self.allowed}"
        return None


_ALNUM_HYPHEN = r"[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]"
NAME_RULES: dict[ResourceKind, NameRule] = {
    ResourceKind.RESOURCE_GROUP: NameRule(
        "rg-{prefix}-{env}", 1, 90, r"[\w\-.()]*[\w\-()]", "letters, digits, _-.() not ending in '.'"
    ),
    ResourceKind.MANAGED_RESOURCE_GROUP: NameRule(
        "rg-{prefix}-{env}-dbw-managed", 1, 90, r"[\w\-.()]*[\w\-()]", "letters, digits, _-.()"
    ),
    ResourceKind.LOG_ANALYTICS: NameRule(
        "log-{prefix}-{env}", 4, 63, _ALNUM_HYPHEN, "letters, digits and hyphens, alphanumeric at both ends"
    ),
    ResourceKind.ACTION_GROUP: NameRule("ag-{prefix}-{env}", 1, 260, r"[\w\-.]+", "letters, digits, _-."),
    # Shown in every alert e-mail and SMS; independent of the prefix so it never breaks its budget.
    ResourceKind.ACTION_GROUP_SHORT: NameRule("mlops-{env}", 1, 12, r"[\w\-]+", "letters, digits, _-"),
    ResourceKind.ALERT_RULE: NameRule(
        "alert-{prefix}-{env}-failed-jobs", 1, 260, r"[^<>*%{}&:\\?+/#|]+", "no <>*%{}&:\\?+/#|"
    ),
    ResourceKind.DRIFT_ALERT_RULE: NameRule(
        "alert-{prefix}-{env}-drift-retrain", 1, 260, r"[^<>*%{}&:\\?+/#|]+", "no <>*%{}&:\\?+/#|"
    ),
    ResourceKind.KEY_VAULT: NameRule(
        "kv-{prefix}-{env}-{suffix}",
        3,
        24,
        r"[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]",
        "letters, digits and single hyphens, starting with a letter, globally unique",
    ),
    ResourceKind.STORAGE_ACCOUNT: NameRule(
        "st{compact_prefix}{env}{suffix}",
        3,
        24,
        r"[a-z0-9]+",
        "lowercase letters and digits, globally unique",
    ),
    ResourceKind.UC_CONTAINER: NameRule(
        "unity-catalog", 3, 63, r"[a-z0-9](-?[a-z0-9])*", "lowercase letters, digits and single hyphens"
    ),
    ResourceKind.DATABRICKS_WORKSPACE: NameRule(
        "dbw-{prefix}-{env}", 3, 64, r"[a-zA-Z0-9][\w-]*", "letters, digits, _ and -"
    ),
    ResourceKind.ACCESS_CONNECTOR: NameRule(
        "dbac-{prefix}-{env}", 3, 64, r"[a-zA-Z0-9][\w-]*", "letters, digits, _ and -"
    ),
    ResourceKind.DEPLOYER_IDENTITY: NameRule(
        "id-{prefix}-{env}-deployer", 3, 128, r"[a-zA-Z0-9][\w-]*", "letters, digits, _ and -"
    ),
    ResourceKind.VIRTUAL_NETWORK: NameRule(
        "vnet-{prefix}-{env}", 2, 64, r"[a-zA-Z0-9][\w\-.]*\w", "letters, digits, _-."
    ),
    ResourceKind.NETWORK_SECURITY_GROUP: NameRule(
        "nsg-{prefix}-{env}-dbw", 1, 80, r"[a-zA-Z0-9][\w\-.]*\w", "letters, digits, _-."
    ),
}


class NamingError(ValueError):
    """A prefix that makes at least one derived Azure name invalid; one line per broken budget."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class AzureNames:
    """Every physical name of one environment, all checked against their rules."""

    suffix: str
    resource_group: str
    managed_resource_group: str
    log_analytics: str
    action_group: str
    action_group_short: str
    alert_rule: str
    drift_alert_rule: str
    key_vault: str
    storage_account: str
    uc_container: str
    databricks_workspace: str
    access_connector: str
    deployer_identity: str
    virtual_network: str
    network_security_group: str


def name_suffix(prefix: str, environment: str, rotation: int = 0, *, subscription_id: str) -> str:
    """A short deterministic hash: the same inputs always give the same globally unique names.

    The subscription is in it because the prefix alone is not unique between organisations: two
    that keep the default ``mlops`` would otherwise race for the same vault and storage names.
    """
    key = f"{prefix}|{environment}|{rotation}|{subscription_id.lower()}"
    return hashlib.sha256(key.encode()).hexdigest()[:SUFFIX_LENGTH]


def azure_names(prefix: str, environment: str, rotation: int = 0, *, subscription_id: str) -> AzureNames:
    """Build and check every physical name; raise NamingError naming each budget that broke."""
    suffix = name_suffix(prefix, environment, rotation, subscription_id=subscription_id)
    parts = {
        "prefix": prefix,
        "compact_prefix": prefix.replace("-", ""),
        "env": ENVIRONMENT_SPELLINGS[NameSystem.AZURE][Environment(environment)],
        "suffix": suffix,
    }
    names: dict[str, str] = {}
    problems: list[str] = []
    for kind, rule in NAME_RULES.items():
        name = rule.template.format(**parts)
        problem = rule.problem(kind, name)
        if problem is not None:
            problems.append(f"{problem}; {_prefix_budget_hint(rule, kind)}")
        names[kind.name.lower()] = name
    if problems:
        raise NamingError(problems)
    return AzureNames(suffix=suffix, **names)


def max_prefix_length() -> int:
    """The longest prefix every template accepts (the tightest budget wins)."""
    return min(_prefix_room(rule) for rule in NAME_RULES.values() if "prefix}" in rule.template)


def _prefix_room(rule: NameRule) -> int:
    longest_env = max(len(code) for code in ENVIRONMENT_SPELLINGS[NameSystem.AZURE].values())
    fixed = rule.template.format(
        prefix="", compact_prefix="", env="x" * longest_env, suffix="x" * SUFFIX_LENGTH
    )
    return rule.max_length - len(fixed)


def _prefix_budget_hint(rule: NameRule, kind: ResourceKind) -> str:
    if "prefix}" not in rule.template:
        return "this name does not depend on the prefix"
    return f"namePrefix may be at most {_prefix_room(rule)} characters for the {kind} budget"
