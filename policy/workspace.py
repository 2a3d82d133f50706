"""Azure Databricks workspace: premium (Unity Catalog needs it) and, in prod, no public IPs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import PolicyContext
from .props import get_path

DATABRICKS_WORKSPACE = "azure-native:databricks:Workspace"
REQUIRED_SKU = "premium"


def check_databricks_workspace(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    violations: list[str] = []
    sku = get_path(props, "sku.name")
    if sku != REQUIRED_SKU:
        violations.append(f"sku.name is {sku!r}: Unity Catalog and RBAC need {REQUIRED_SKU!r}")
    if context.is_production and get_path(props, "parameters.enableNoPublicIp.value") is not True:
        violations.append(
            "parameters.enableNoPublicIp.value must be true in prod (secure cluster connectivity)"
        )
    return violations
