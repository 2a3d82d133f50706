"""Storage accounts: HTTPS only, TLS 1.2+, no anonymous blob access, Entra ID instead of shared keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import PolicyContext
from .props import get_path, number

STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
MIN_SOFT_DELETE_DAYS = 7

ACCEPTED_TLS_VERSIONS: frozenset[str] = frozenset({"TLS1_2", "TLS1_3"})
# Geo-redundant SKUs double the storage bill; outside prod the data can be rebuilt.
GEO_REDUNDANT_SKUS: frozenset[str] = frozenset(
    {"Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"}
)


def check_storage_account(resource_type: str, props: Mapping[str, Any], context: PolicyContext) -> list[str]:
    violations: list[str] = []
    if props.get("enableHttpsTrafficOnly") is False:
        violations.append("enableHttpsTrafficOnly must not be false")
    if props.get("minimumTlsVersion") not in ACCEPTED_TLS_VERSIONS:
        tls = props.get("minimumTlsVersion")
        violations.append(f"minimumTlsVersion is {tls!r}: set TLS1_2 (the Azure default is older)")
    if props.get("allowBlobPublicAccess") is not False:
        violations.append("allowBlobPublicAccess must be false")
    # Unity Catalog reaches the account through the access connector's managed identity, so no
    # platform path needs account keys.
    if props.get("allowSharedKeyAccess") is not False:
        violations.append("allowSharedKeyAccess must be false (use Entra ID via the access connector)")
    return violations


def advise_storage_redundancy(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    sku = get_path(props, "sku.name")
    if context.is_known_non_production and sku in GEO_REDUNDANT_SKUS:
        return [f"sku {sku} is geo-redundant in {context.environment}: Standard_LRS costs about half"]
    return []


def check_blob_service_recoverable(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    """A blob service the platform configures (the state backend) keeps versions and deleted data."""
    violations: list[str] = []
    if props.get("isVersioningEnabled") is not True:
        violations.append("isVersioningEnabled must be true: every state write keeps the previous version")
    for policy in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        days = number(get_path(props, f"{policy}.days"))
        if get_path(props, f"{policy}.enabled") is not True or days is None or days < MIN_SOFT_DELETE_DAYS:
            violations.append(f"{policy} must be enabled for at least {MIN_SOFT_DELETE_DAYS} days")
    return violations
