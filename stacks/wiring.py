"""Map one environment's validated settings (and foundation outputs) onto every component's args.

The components take typed args and know nothing of settings; this module is the one place that
says which setting feeds which arg (the foundation, the Databricks workloads, the GitHub side), so
a renamed setting breaks here and nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pulumi
from mlops_framework.vocabulary import METRIC_FACTS, TRAINING_JOB, ProblemKind
from pulumi_azure_native import authorization

from infra.access import access_levels
from infra.base import StrInput
from infra.databricks import DatabricksWorkloads
from infra.databricks_args import PARAMETERS, DatabricksWorkloadsArgs, ProblemType, ProjectArgs
from infra.databricks_provider import DatabricksAuthType
from infra.jobs import DriftThresholds, JobCluster, check_parameters
from infra.last_deploy import DeployedObjects
from infra.monitoring import DriftAlertArgs
from infra.naming import AzureNames, azure_names
from infra.platform import Platform, PlatformArgs
from infra.tags import common_tags
from infra.wheel import read_wheel
from infra.workspace import VnetArgs
from stacks.loading import ConfigError, Problem
from stacks.project_folders import folder_problem
from stacks.projects import ProjectSettings, predictions_table
from stacks.settings import StackSettings

ROOT = Path(__file__).resolve().parent.parent
# `make wheel` builds each ML project into dist/<name>/ (Makefile, PROJECT_DIRS): project_dist.
DIST = ROOT / "dist"


def project_dist(project: ProjectSettings, dist: Path | None = None) -> Path:
    """Where `make wheel` puts the project's one wheel: ``dist/<name>/``."""
    return (dist or DIST) / project.name


def checked_wheels(settings: StackSettings, dist: Path | None = None) -> dict[str, Path]:
    """Each project's wheel, by project; its path must be a project folder (stacks/project_folders.py),
    and a pinned version must be the one that was built.

    A missing wheel raises WheelError telling the user to `make wheel`; a job graph naming a
    parameter the platform does not fill raises UnknownJobParameterError; every wrong pin is one
    problem of one ConfigError. All of it before the program registers anything: the SDK sends
    every registration made before an error to the engine (pulumi/runtime/stack.py,
    run_pulumi_func), and a `pulumi up` would create the foundation of a stack it cannot finish.
    """
    wheels, problems = {}, []
    stack = settings.environment.value
    for project in settings.projects:
        folder = folder_problem(project.path, ROOT)
        if folder is not None:
            problems.append(Problem(stack, f"{project.key}.path", project.path, folder))
    if problems:  # before the wheels: a project that is not there has none either
        raise ConfigError(stack, problems)
    for project in settings.projects:
        wheel = read_wheel(project_dist(project, dist))
        check_parameters(wheel.graph, PARAMETERS)
        pin = project.wheel_version
        if pin is not None and pin != wheel.version:
            message = (
                f"the pinned wheel version is not the built one ({wheel.path.name}); build the pinned "
                f"release, or pin {wheel.version!r} with `make promote` / by editing Pulumi.{stack}.yaml"
            )
            problems.append(Problem(stack, f"{project.key}.wheelVersion", pin, message))
        elif project.wheel_sha256 is not None and project.wheel_sha256 != wheel.sha256:
            # Same version, other bytes: ML code merged after the release cut never ran where it
            # was promoted from (issue 29, finding 7).
            message = (
                f"the built {wheel.path.name} hashes to {wheel.sha256}, not the bytes the previous "
                "environment ran: this commit's ML code differs from the release's under the same "
                "version; deploy the release's commit, or bump the version and release it anew"
            )
            problems.append(Problem(stack, f"{project.key}.wheelSha256", project.wheel_sha256, message))
        wheels[project.name] = wheel.path
    if problems:
        raise ConfigError(stack, problems)
    return wheels


# The quality monitor's problem type per kind of problem the gate metric scores (the wheel's
# vocabulary, mlops_framework.vocabulary.METRIC_FACTS).
PROBLEM_TYPES = {
    ProblemKind.CLASSIFICATION: ProblemType.CLASSIFICATION,
    ProblemKind.REGRESSION: ProblemType.REGRESSION,
}


def project_args(project: ProjectSettings, wheel: Path) -> ProjectArgs:
    schema = project.schema_
    return ProjectArgs(
        name=project.name,
        wheel_path=wheel,
        schema_name=schema,
        model_name=project.model_name,
        developers_group=project.developers_group,
        primary_metric=project.primary_metric,
        margin=project.margin,
        schedules_paused=not project.schedules_enabled,
        serving_workload_size=project.serving_workload_size,
        serving_scale_to_zero=project.serving_scale_to_zero,
        predictions_table=predictions_table(project.name),
        problem_type=PROBLEM_TYPES[METRIC_FACTS[project.primary_metric].kind],
        state_from_single_project=project.state_from_single_project,
    )


def checked_subscription(settings: StackSettings) -> str:
    """The stack's subscription, once the Azure login is known to be to that subscription.

    azure-native deploys into the subscription its provider is configured with (ARM_SUBSCRIPTION_ID
    or the Azure CLI's current account); ``getClientConfig`` reports that configuration
    ("the current configuration of the native Azure provider", pulumi_azure_native/authorization/
    get_client_config.py). A stack run while logged in elsewhere would plan its workspace and every
    role assignment as replacements; this stops it first, naming both subscriptions.
    """
    configured = settings.platform.subscription_id
    logged_in = str(authorization.get_client_config().subscription_id)
    if logged_in.lower() != configured.lower():
        stack = settings.environment.value
        message = (
            f"the Azure login is to subscription {logged_in}, not this stack's; log in to it "
            f"(`az account set --subscription {configured}`; CI: ARM_SUBSCRIPTION_ID) "
            f"or correct Pulumi.{stack}.yaml"
        )
        raise ConfigError(stack, [Problem(stack, "platform.subscriptionId", configured, message)])
    return configured


def _azure_names(settings: StackSettings) -> AzureNames:
    platform = settings.platform
    return azure_names(
        platform.name_prefix,
        settings.environment,
        platform.name_suffix_rotation,
        subscription_id=platform.subscription_id,
    )


def _tags(settings: StackSettings) -> dict[str, str]:
    platform = settings.platform
    return common_tags(
        environment=settings.environment, owner=platform.owner, cost_center=platform.cost_center
    )


def platform_args(settings: StackSettings, secrets: Mapping[str, pulumi.Output[str]]) -> PlatformArgs:
    env, platform, injection = settings.environment, settings.platform, settings.workspace.vnet_injection
    names = _azure_names(settings)
    vault = settings.key_vault
    return PlatformArgs(
        environment=env,
        names=names,
        tags=_tags(settings),
        location=platform.location,
        subscription_id=platform.subscription_id,
        protect_stateful=settings.protection.protect_stateful,
        retain_on_delete=settings.protection.retain_on_delete,
        delete_lock=settings.protection.delete_lock,
        log_retention_days=settings.monitoring.retention_days,
        alert_emails=tuple(settings.monitoring.alert_emails),
        failed_job_alert=settings.monitoring.failed_job_alert,
        key_vault_sku=vault.sku,
        key_vault_soft_delete_retention_days=vault.soft_delete_retention_days,
        key_vault_purge_protection=vault.purge_protection,
        key_vault_network_default_action=vault.network_default_action,
        key_vault_allowed_ip_ranges=tuple(vault.allowed_ip_ranges),
        storage_sku=settings.workspace.storage_sku,
        no_public_ip=settings.workspace.no_public_ip,
        vnet=VnetArgs(
            vnet_name=names.virtual_network,
            nsg_name=names.network_security_group,
            address_space=injection.address_space,
            public_subnet_cidr=injection.public_subnet_cidr,
            private_subnet_cidr=injection.private_subnet_cidr,
        )
        if injection.enabled
        else None,
        secrets=secrets,
        preview_principal_id=settings.bootstrap.preview_principal_id,
        deployer_principal_id=settings.bootstrap.deployer_principal_id,
        deployer_client_id=settings.bootstrap.deployer_client_id,
    )


def databricks_args(
    settings: StackSettings,
    platform: Platform,
    wheels: Mapping[str, Path],
    environ: Mapping[str, str] = os.environ,
    *,
    auth_type: DatabricksAuthType,
    deployed: Mapping[str, DeployedObjects],
) -> DatabricksWorkloadsArgs:
    db, model, env = settings.databricks, settings.model, settings.environment
    oidc = auth_type is DatabricksAuthType.GITHUB_OIDC_AZURE
    # In CI the job's own identity exchanges the token: the deployer in deploy jobs, the read-only
    # preview identity in PR previews (ARM_CLIENT_ID names whichever the job logged in as).
    client_id: StrInput = environ.get("ARM_CLIENT_ID") or platform.deployer_client_id
    tenant_id: StrInput = environ.get("ARM_TENANT_ID") or platform.tenant_id
    return DatabricksWorkloadsArgs(
        environment=env,
        name_prefix=settings.platform.name_prefix,
        workspace_host=platform.workspace_url,
        workspace_resource_id=platform.workspace_id,
        workspace_numeric_id=platform.workspace_numeric_id,
        auth_type=auth_type,
        deployer_client_id=client_id if oidc else None,
        tenant_id=tenant_id if oidc else None,
        account_id=db.account_id,
        deployers_group=db.deployers_group,
        deployer_application_id=platform.deployer_client_id,
        # The bootstrap's PR-preview identity, through the declared interface (settings.bootstrap).
        preview_application_id=settings.bootstrap.preview_client_id,
        access_connector_id=platform.access_connector_id,
        uc_storage_access=platform.uc_storage_access,
        uc_storage_root=platform.storage_root,
        catalog=db.catalog,
        readers_group=db.readers_group,
        access=access_levels(db.developer_access),
        approvers_group=db.approvers_group,
        project_root=ROOT,
        compute_mode=db.compute_mode,
        cluster=JobCluster(spark_version=db.spark_version, node_type=db.node_type),
        failure_notification_emails=tuple(db.failure_notification_emails),
        require_approval=model.require_approval,
        drift=DriftThresholds(
            psi=model.drift.psi_threshold, p_value=model.drift.p_value, min_rows=model.drift.min_rows
        ),
        create_serving_endpoint=db.create_serving_endpoint,
        model_monitoring=db.model_monitoring,
        deployed=deployed,
        protect=settings.protection.protect_stateful,
        force_destroy=db.force_destroy,
        tags=common_tags(
            environment=env.value, owner=settings.platform.owner, cost_center=settings.platform.cost_center
        ),
        projects=tuple(project_args(project, wheels[project.name]) for project in settings.projects),
    )


def drift_alert_args(
    settings: StackSettings, platform: Platform, databricks: DatabricksWorkloads
) -> DriftAlertArgs | None:
    """The drift alert beside the failed-job one (same workspace, same action group), on the
    training job the monitoring job starts and the principal it runs as; None when switched off."""
    monitoring = settings.monitoring
    if not monitoring.drift_alert:
        return None
    return DriftAlertArgs(
        resource_group_name=platform.resource_group_name,
        location=settings.platform.location,
        tags=_tags(settings),
        rule_name=_azure_names(settings).drift_alert_rule,
        severity=monitoring.drift_alert_severity,
        log_analytics_workspace_id=platform.log_analytics_workspace_id,
        action_group_id=platform.action_group_id,
        # Every project's training job: the monitoring job of each starts its own.
        training_job_ids=tuple(
            project.job_ids[TRAINING_JOB]
            for _, project in sorted(databricks.projects.items())
            if TRAINING_JOB in project.job_ids
        ),
        job_principal_application_id=databricks.service_principal_application_id,
    )
