"""Plan one environment's DatabricksWorkloads offline, with literal inputs like the platform's."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pulumi.resource import DependencyResource

from core.environment import Environment
from infra.access import DeveloperAccess, access_levels
from infra.databricks import DatabricksWorkloads
from infra.databricks_args import DatabricksWorkloadsArgs, ProblemType, ProjectArgs
from stacks.offline import OfflineRun, WorkspaceState, run_offline

PROJECT = "mlops-platform"
ACCOUNT_ID = "00000000-0000-4000-8000-00000000acc0"
DEPLOYER_CLIENT_ID = "00000000-0000-4000-8000-000000000003"
PREVIEW_CLIENT_ID = "00000000-0000-4000-8000-0000000000e2"  # the bootstrap's PR-preview identity
# The access connector's role assignment, as the platform would pass it (not registered here).
STORAGE_ROLE_URN = (
    "urn:pulumi:{env}::mlops-platform::mlops:platform:Platform$mlops:azure:Workspace"
    "$azure-native:authorization:RoleAssignment::platform-databricks-connector-blob-contributor"
)
WORKSPACE_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-mlops-{env}"
    "/providers/Microsoft.Databricks/workspaces/dbw-mlops-{env}"
)
CONNECTOR_ID = (
    "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-mlops-{env}"
    "/providers/Microsoft.Databricks/accessConnectors/dbac-mlops-{env}"
)

# Iris as the platform wires it (stacks/wiring.py, project_args): the environment's only project
# before projects existed, so its resources alias their former URNs.
IRIS: dict[str, Any] = {
    "name": "iris",
    "schema_name": "iris",
    "model_name": "iris_classifier",
    "developers_group": "mlops-developers",
    "primary_metric": "accuracy",
    "predictions_table": "iris_predictions",
    "problem_type": ProblemType.CLASSIFICATION,
    "state_from_single_project": True,
}
# The keys of ProjectArgs a test may pass to workloads_args as if they were the environment's.
PROJECT_FIELDS = frozenset(ProjectArgs.model_fields) - {"name"}

# What each environment kind typically asks for (stacks/wiring.py maps the settings the same way).
_BUILDING: dict[str, Any] = {
    "access": access_levels(DeveloperAccess.BUILD),
    "schedules_paused": True,
    "require_approval": False,
    "protect": False,
}
_GUARDED: dict[str, Any] = {
    "access": access_levels(DeveloperAccess.READ),
    "schedules_paused": False,
    "require_approval": True,
    "force_destroy": False,
}
ENVIRONMENT_ARGS: dict[Environment, dict[str, Any]] = {
    Environment.SANDBOX: {**_BUILDING, "force_destroy": True},
    Environment.DEV: {
        **_BUILDING,
        "force_destroy": False,
        "failure_notification_emails": ("ml-dev@example.com",),
    },
    Environment.UAT: {
        **_GUARDED,
        "protect": False,
        "create_serving_endpoint": True,
        "model_monitoring": True,
        "failure_notification_emails": ("ml-oncall@example.com", "ml-dev@example.com"),
    },
    Environment.PROD: {
        **_GUARDED,
        "protect": True,
        "create_serving_endpoint": True,
        "model_monitoring": True,
        "serving_scale_to_zero": False,
        "serving_workload_size": "Medium",
        "compute_mode": "job_cluster",
        "failure_notification_emails": ("ml-oncall@example.com",),
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
        "approvers_group": "mlops-approvers",
        "account_id": ACCOUNT_ID,
        "deployers_group": "mlops-deployers",
        "deployer_application_id": DEPLOYER_CLIENT_ID,
        "preview_application_id": PREVIEW_CLIENT_ID,
        "wheel_path": wheel_path,
        "tags": {"project": "mlops-platform", "owner": "platform-team"},
        **ENVIRONMENT_ARGS[environment],
        **overrides,
    }
    if "uc_storage_access" not in fields:
        fields["uc_storage_access"] = storage_role(environment)
    if "projects" not in fields:  # one project, Iris, from the per-project fields given here
        project = {key: fields.pop(key) for key in PROJECT_FIELDS if key in fields}
        fields["projects"] = (ProjectArgs.model_validate({**IRIS, **project}),)
    return DatabricksWorkloadsArgs.model_validate(fields)


def storage_role(environment: Environment) -> DependencyResource:
    """The connector's role assignment as a reference only; its outputs bind to the current loop."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:  # outside a program (args-only tests): any loop will do
        asyncio.set_event_loop(asyncio.new_event_loop())
    return DependencyResource(STORAGE_ROLE_URN.format(env=environment.value))


def plan(
    environment: Environment, wheel_path: Path, workspace: WorkspaceState | None = None, **overrides: Any
) -> OfflineRun:
    """One offline run of a program holding only this environment's DatabricksWorkloads.

    ``workspace``: what the Databricks invokes find (default: a brand-new environment).
    """

    def program() -> None:
        DatabricksWorkloads("databricks", workloads_args(environment, wheel_path, **overrides))

    return run_offline(program, project=PROJECT, stack=environment.value, config={}, workspace=workspace)
