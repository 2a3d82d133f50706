"""Key Vault: RBAC (no access policies), soft delete, and purge protection that is never turned off."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import PolicyContext
from .props import get_path

KEY_VAULT = "azure-native:keyvault:Vault"


def check_key_vault(resource_type: str, props: Mapping[str, Any], context: PolicyContext) -> list[str]:
    violations: list[str] = []
    if get_path(props, "properties.enableRbacAuthorization") is not True:
        violations.append("properties.enableRbacAuthorization must be true (access policies are not audited)")
    if get_path(props, "properties.enableSoftDelete") is False:
        violations.append("properties.enableSoftDelete must not be false")
    purge_protection = get_path(props, "properties.enablePurgeProtection")
    if purge_protection is False:
        violations.append("properties.enablePurgeProtection must never be set to false (omit it instead)")
    elif context.is_production_like and purge_protection is not True:
        where = context.environment or "an unknown environment"
        violations.append(f"properties.enablePurgeProtection must be true in {where}")
    return violations
