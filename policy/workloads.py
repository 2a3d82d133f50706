"""Databricks workload choices that a real deploy refuses or that silently measure the wrong thing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import PolicyContext
from .props import get_path

SECRET_SCOPE = "databricks:index/secretScope:SecretScope"  # noqa: S105 - a type token  # pragma: allowlist secret
QUALITY_MONITOR = "databricks:index/qualityMonitor:QualityMonitor"
# The AI gateway's payload table keeps request and response as JSON text.
PAYLOAD_SUFFIX = "_payload"
PAYLOAD_COLUMNS: frozenset[str] = frozenset({"request", "response"})


def check_secret_scope_databricks_backed(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    if props.get("backendType") == "AZURE_KEYVAULT" or props.get("keyvaultMetadata"):
        return [
            "Key Vault-backed: AzureDatabricks needs Key Vault Secrets User on the vault and a path "
            "through its firewall, which this platform grants neither; use a Databricks-backed scope"
        ]
    return []


def check_monitor_profiles_predictions(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    violations: list[str] = []
    table = str(props.get("tableName") or "")
    if table.endswith(PAYLOAD_SUFFIX):
        violations.append(
            f"monitors {table}, the raw inference payload: monitor the unpacked predictions table"
        )
    prediction = get_path(props, "inferenceLog.predictionCol")
    if prediction in PAYLOAD_COLUMNS:
        violations.append(f"inferenceLog.predictionCol is {prediction!r}, JSON text, not a prediction")
    return violations
