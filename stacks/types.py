"""Reusable domain types for settings: closed vocabularies as StrEnums, checked strings as Annotated.

Every validator says what is allowed, so a config error can be fixed from the message alone.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from core.environment import ENVIRONMENT_CODES
from infra.bootstrap_interface import GUID_PATTERN
from infra.naming import NamingError, azure_names

LOWERCASE_GUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
UC_IDENTIFIER_PATTERN = r"^[a-z_][a-z0-9_]{0,254}$"
GITHUB_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$"
SECRET_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"  # noqa: S105 - the pattern of a name, not a secret
CONFIG_KEY_PATTERN = r"^[a-z][A-Za-z0-9]*$"
PROJECT_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,20}$"
# A folder of this repository: relative, forward slashes, no `..`.
PROJECT_PATH_PATTERN = r"^[a-z0-9_][a-z0-9_-]*(/[a-z0-9_][a-z0-9_-]*)*$"
WHEEL_VERSION_PATTERN = r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$"
WHEEL_SHA256_PATTERN = r"^[0-9a-f]{64}$"
# What a value must look like, in words, for the error that names a pattern it does not match.
PATTERN_MEANINGS = {
    GUID_PATTERN: "a GUID like 00000000-0000-0000-0000-000000000000",
    LOWERCASE_GUID_PATTERN: "a GUID in lowercase like 00000000-0000-0000-0000-000000000000",
    EMAIL_PATTERN: "an e-mail address like name@example.com",
    UC_IDENTIFIER_PATTERN: "a Unity Catalog name: lowercase letters, digits and _, not starting with a digit",
    GITHUB_NAME_PATTERN: "a GitHub name: letters, digits, '.', '_', '-', starting with a letter or digit",
    SECRET_NAME_PATTERN: "a GitHub secret name: uppercase letters, digits and _",  # pragma: allowlist secret
    CONFIG_KEY_PATTERN: "a config key in camelCase such as myToken",
    PROJECT_NAME_PATTERN: "a project name: a lowercase letter, then 1-20 lowercase letters, digits or -",
    PROJECT_PATH_PATTERN: "a folder of this repository relative to its root, such as ml/projects/diabetes",
    WHEEL_VERSION_PATTERN: "a release version such as 1.4.0, 1.4.0rc1 or 1.4.0.post1",
    WHEEL_SHA256_PATTERN: "the 64 lowercase hex digits of a sha256 (make promote pins it)",
}


def pattern_meaning(pattern: str) -> str:
    """The words for a pattern a value must match; the pattern itself when it has none."""
    return PATTERN_MEANINGS.get(pattern, f"a value matching {pattern}")


# Regions where Azure Databricks (premium, Unity Catalog) is offered. A closed list: a typo such
# as "westeurop" is caught here instead of by a failed deployment twenty minutes in.
AZURE_LOCATIONS: frozenset[str] = frozenset(
    {
        "australiacentral", "australiaeast", "australiasoutheast", "brazilsouth", "canadacentral",
        "canadaeast", "centralindia", "centralus", "eastasia", "eastus", "eastus2", "francecentral",
        "germanywestcentral", "japaneast", "japanwest", "koreacentral", "mexicocentral",
        "northcentralus", "northeurope", "norwayeast", "qatarcentral", "southafricanorth",
        "southcentralus", "southeastasia", "southindia", "swedencentral", "switzerlandnorth",
        "switzerlandwest", "uaenorth", "uksouth", "ukwest", "westcentralus", "westeurope",
        "westindia", "westus", "westus2", "westus3",
    }
)  # fmt: skip


class KeyVaultSku(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"


class StorageSku(StrEnum):
    """Redundancy of the Unity Catalog storage account (azure-native storage SkuName values)."""

    STANDARD_LRS = "Standard_LRS"
    STANDARD_ZRS = "Standard_ZRS"
    STANDARD_GRS = "Standard_GRS"
    STANDARD_GZRS = "Standard_GZRS"


class NetworkDefaultAction(StrEnum):
    """What a Key Vault does with traffic that matches no network rule."""

    ALLOW = "Allow"
    DENY = "Deny"


class ReviewerType(StrEnum):
    USER = "user"
    TEAM = "team"


def _check_location(value: str) -> str:
    if value not in AZURE_LOCATIONS:
        raise ValueError(f"not a supported Azure region; allowed: {', '.join(sorted(AZURE_LOCATIONS))}")
    return value


def _check_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"not a valid CIDR range ({error}); allowed: e.g. 10.20.0.0/16") from None
    if network.version != 4:
        raise ValueError("only IPv4 ranges are supported by VNet injection; allowed: e.g. 10.20.0.0/16")
    return value


def _check_not_reserved(value: str) -> str:
    if value.startswith("GITHUB_"):
        raise ValueError("GitHub reserves the GITHUB_ prefix; allowed: any other UPPER_SNAKE_CASE name")
    return value


BUDGET_CHECK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def _check_prefix_budgets(value: str) -> str:
    """Every name derived from the prefix, in every environment, must fit its Azure budget."""
    for environment in ENVIRONMENT_CODES:
        try:
            # Lengths do not depend on the subscription: any GUID checks the budgets.
            azure_names(value, environment, subscription_id=BUDGET_CHECK_SUBSCRIPTION)
        except NamingError as error:
            raise ValueError(str(error)) from None
    return value


# The prefix every Azure name starts with: the charset here, every derived name's budget checked
# against naming.py's rules (the Key Vault's 24 characters are the tightest).
NamePrefix = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
        min_length=2,
        description="lowercase letters, digits and single hyphens, starting with a letter",
    ),
    AfterValidator(_check_prefix_budgets),
]
AzureLocation = Annotated[str, AfterValidator(_check_location)]
Cidr = Annotated[str, AfterValidator(_check_cidr)]
Email = Annotated[str, Field(pattern=EMAIL_PATTERN, description="an e-mail address")]
# Unity Catalog identifiers used unquoted: lowercase, digits, underscores.
UcIdentifier = Annotated[str, Field(pattern=UC_IDENTIFIER_PATTERN)]
GithubName = Annotated[str, Field(pattern=GITHUB_NAME_PATTERN)]
# GitHub Actions secret names: uppercase by convention here, never the reserved GITHUB_ prefix.
# A ref name pattern of a GitHub deployment policy (fnmatch-like: `main`, `release/*`, `v*`).
GithubSecretName = Annotated[str, Field(pattern=SECRET_NAME_PATTERN), AfterValidator(_check_not_reserved)]
ConfigKey = Annotated[str, Field(pattern=CONFIG_KEY_PATTERN)]
# An Azure subscription id: a GUID, as `az account show --query id` prints it.
SubscriptionId = Annotated[
    str,
    Field(
        pattern=GUID_PATTERN,
        description="a GUID such as 00000000-0000-0000-0000-000000000000",
    ),
]
# A PEP 440 release such as 1.4.0, 1.4.0rc1 or 1.4.0.post1 (local versions are not promotable).
WheelVersion = Annotated[str, Field(pattern=WHEEL_VERSION_PATTERN)]
WheelSha256 = Annotated[str, Field(pattern=WHEEL_SHA256_PATTERN)]
