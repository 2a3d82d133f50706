"""The Pulumi program: what ``__main__.py`` runs and what the offline plan runs under mocks."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pulumi

from infra.databricks import DatabricksWorkloads
from infra.databricks_provider import auth_type_for
from infra.monitoring import DriftAlert
from infra.platform import Platform
from infra.preview_access import PreviewAccess, PreviewAccessArgs
from stacks.last_deploy import ENDPOINT_VERSION, MONITORED_TABLE, PROJECTS_OUTPUT, deployed_objects
from stacks.loading import LoadedStack, load_settings
from stacks.wiring import (
    checked_subscription,
    checked_wheels,
    databricks_args,
    drift_alert_args,
    platform_args,
)

__all__ = ["DeployedEnvironment", "build_platform", "export_outputs", "load_settings", "program"]


@dataclass(frozen=True)
class DeployedEnvironment:
    """One deployed environment: the Azure foundation and its Databricks workloads. Its GitHub
    environment is the bootstrap's (infra/github.py): no environment stack holds a GitHub token."""

    platform: Platform
    databricks: DatabricksWorkloads


def build_platform(loaded: LoadedStack) -> DeployedEnvironment:
    """Compose the environment the stack's settings describe.

    The workloads are children of the platform component, so the resource tree reads top-down.
    Everything that can fail on config, a missing wheel or the wrong Azure login fails before the
    first registration.
    """
    settings = loaded.settings
    wheels = checked_wheels(settings)
    checked_subscription(settings)
    auth_type = auth_type_for(os.environ)  # a login the provider cannot take stops here
    platform = Platform("platform", platform_args(settings, loaded.secrets))
    children = pulumi.ResourceOptions(parent=platform)
    # What the last `pulumi up` created exists whoever looks (infra/last_deploy.py).
    deployed = deployed_objects(project.name for project in settings.projects)
    databricks = DatabricksWorkloads(
        "databricks",
        databricks_args(settings, platform, wheels, auth_type=auth_type, deployed=deployed),
        children,
    )
    # Beside the platform's failed-job alert, once the training job and the job principal exist.
    drift_alert = drift_alert_args(settings, platform, databricks)
    if drift_alert is not None:
        DriftAlert("drift-alert", drift_alert, children)
    PreviewAccess(
        "preview-access",
        PreviewAccessArgs(
            environment=settings.environment,
            subscription_id=settings.platform.subscription_id,
            resource_group_id=platform.resource_group_id,
            preview_principal_id=settings.bootstrap.preview_principal_id,
        ),
        children,
    )
    return DeployedEnvironment(platform, databricks)


def export_outputs(environment: DeployedEnvironment) -> None:
    """Stack outputs for CI (`pulumi stack output --json`), the demo and humans."""
    workloads = environment.databricks
    outputs: dict[str, pulumi.Input[object]] = {
        **environment.platform.outputs(),
        "databricksHost": workloads.workspace_url,
        "jobServicePrincipalApplicationId": workloads.service_principal_application_id,
        "catalogName": workloads.catalog_name,
        "secretScopeName": workloads.secret_scope_name,
        # Per ML project: `pulumi stack output projects --json | jq .iris.jobIds.training`.
        PROJECTS_OUTPUT: {
            name: {
                "schemaName": project.schema_name,
                "wheelVolumePath": project.wheel_volume_path,
                "jobIds": project.job_ids,
                "registeredModelName": project.registered_model_name,
                "experimentName": project.experiment_name,
                "servingEndpointName": project.serving_endpoint_name,
                # Read back by the next run (stacks/last_deploy.py): what this update created.
                ENDPOINT_VERSION: project.serving_endpoint_version,
                MONITORED_TABLE: project.monitored_table,
            }
            for name, project in sorted(workloads.projects.items())
        },
    }
    for key, value in outputs.items():
        pulumi.export(key, value)


def program() -> None:
    """Load settings for the current stack, build the platform, export."""
    export_outputs(build_platform(load_settings()))
