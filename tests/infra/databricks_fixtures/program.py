"""Plan one environment's DatabricksWorkloads offline, with literal inputs like the platform's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.databricks import DatabricksWorkloads, DatabricksWorkloadsArgs
from stacks.environment import Environment
from stacks.offline import OfflineRun, run_offline

PROJECT = "mlops-platform"
WORKSPACE_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-mlops-{env}"
    "/providers/Microsoft.Databricks/workspaces/dbw-mlops-{env}"
)
CONNECTOR_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-mlops-{env}"
    "/providers/Microsoft.Databricks/accessConnectors/dbac-mlops-{env}"
)

# What each environment kind typically asks for (the lead maps settings the same way).
ENVIRONMENT_ARGS: dict[Environment, dict[str, Any]] = {
    Environment.SANDBOX: {},
    Environment.DEV: {"failure_notification_emails": ("ml-dev@example.com",)},
    Environment.UAT: {
        "create_serving_endpoint": True,
        "model_monitoring": True,
        "failure_notification_emails": ("ml-oncall@example.com", "ml-dev@example.com"),
    },
    Environment.PROD: {
        "create_serving_endpoint": True,
        "model_monitoring": True,
        "serving_scale_to_zero": False,
        "serving_workload_size": "Medium",
        "compute_mode": "job_cluster",
        "failure_notification_emails": ("ml-oncall@example.com",),
        "secret_scope_backend": "azure_keyvault",
        "key_vault_id": "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-mlops-prod"
        "/providers/Microsoft.KeyVault/vaults/kv-mlops-prod",
        "key_vault_uri": "https://kv-mlops-prod.vault.azure.net/",
        "auth_type": "github-oidc-azure",
        "deployer_client_id": "00000000-0000-4000-8000-000000000003",
        "tenant_id": "00000000-0000-4000-8000-000000000002",
    },
}


def workloads_args(environment: Environment, wheel_path: Path, **overrides: Any) -> DatabricksWorkloadsArgs:
    env = environment.value
    fields: dict[str, Any] = {
        "environment": environment,
        "workspace_host": f"adb-1234567890123456.{len(env)}.azuredatabricks.net",
        "workspace_resource_id": WORKSPACE_ID.format(env=env),
        "access_connector_id": CONNECTOR_ID.format(env=env),
        "uc_storage_root": f"abfss://unity-catalog@stmlops{env}.dfs.core.windows.net/",
        "catalog": f"mlops_{env}",
        "readers_group": "mlops-readers",
        "developers_group": "mlops-developers",
        "wheel_path": wheel_path,
        "tags": {"project": "mlops-platform", "owner": "platform-team"},
        **ENVIRONMENT_ARGS[environment],
        **overrides,
    }
    return DatabricksWorkloadsArgs.model_validate(fields)


def plan(environment: Environment, wheel_path: Path, **overrides: Any) -> OfflineRun:
    """One offline run of a program holding only this environment's DatabricksWorkloads."""
    args = workloads_args(environment, wheel_path, **overrides)

    def program() -> None:
        DatabricksWorkloads("databricks", args)

    return run_offline(program, project=PROJECT, stack=environment.value, config={})
