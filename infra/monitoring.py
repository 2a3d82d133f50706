"""Log Analytics for the environment, an action group, and its alerts: failed Databricks jobs, and
training runs a drift alert started (``DriftAlert``, created once the training job exists)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import pulumi
from pulumi_azure_native import monitor, operationalinsights
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent, StrInput

# Late rows: an alert looks back LOOKBACK on TimeGenerated (its window) but counts only the rows
# ingested since the previous evaluation, so a Databricks diagnostic row that lands minutes after
# its TimeGenerated is still counted once, and no row is counted twice ("Handle ingestion delay in
# scheduled analytics rules", Microsoft Learn, sentinel/ingestion-delay: widen the look-back,
# filter on ingestion_time() over the run frequency). LOOKBACK bounds the delay survived.
EVALUATION_MINUTES = 5
EVALUATION_FREQUENCY = f"PT{EVALUATION_MINUTES}M"
LOOKBACK = "PT1H"
NEWLY_INGESTED = f"| where ingestion_time() > ago({EVALUATION_MINUTES}m)"

# Rows the workspace's "jobs" diagnostic category writes for each failed run (DatabricksJobs table).
FAILED_JOBS_QUERY = f"""DatabricksJobs
{NEWLY_INGESTED}
| where ActionName in ("runFailed", "runFailure")
| extend Params = parse_json(RequestParams)
| project TimeGenerated, JobId = tostring(Params.jobId), RunId = tostring(Params.runId)"""

# A drift retrain, as the workspace's "jobs" diagnostic category records it (table DatabricksJobs).
# What each part relies on:
# - Columns ActionName, Identity, RequestParams and Response, each a string holding JSON (Azure
#   Monitor table reference, learn.microsoft.com/azure/azure-monitor/reference/tables/databricksjobs;
#   MicrosoftDocs/azure-reference-other azure-monitor-ref/tables/databricksjobs.md). parse_json
#   also accepts a column that is already dynamic, as the newer Databricks tables are.
# - ``runNow`` is the Jobs API run-now (mlops_framework.retrain calls JobsAPI.run_now); its request
#   parameters carry ``job_id`` and its response's ``result`` is JSON text with ``run_id``: the
#   audit-log reader databrickslabs/overwatch does exactly that (WorkflowsTransforms.scala,
#   jobRunsDeriveRunsLaunched: ``'job_id`` and ``get_json_object($"response.result", "$.run_id")``).
# - A scheduled run is not ``runNow``: the scheduler's launches are ``runTriggered`` (overwatch,
#   jobRunsDeriveRunsTriggered, "runs launched by the jobScheduler (i.e. cron)"), performed by
#   "System-User" (Azure Databricks diagnostic log reference, "launching a job due to scheduling").
# - The caller is ``Identity.email`` ({"email": ..., "subjectName": ...}: the audit log schema,
#   learn.microsoft.com/azure/databricks/admin/system-tables/audit-logs). A Databricks service
#   principal's user name is its application id (databricks/cli libs/iamutil IsServicePrincipal:
#   "If the user name is a UUID, then we assume it's an Azure service principal"). That the audit
#   ``email`` of a service principal is that application id is the one link no reference read
#   offline states in words; docs/infrastructure.md says how to check it on the first drift run.
# So: run-now of the training job by the job principal. A human's "Run now" is another caller,
# the schedule is another action, and only the monitoring job runs as the job principal and
# calls run-now (no task of the job graph calls the Jobs API otherwise).
DRIFT_RETRAIN_QUERY = """DatabricksJobs
{newly_ingested}
| where ActionName == "runNow"
| extend Params = parse_json(RequestParams), Caller = parse_json(Identity)
| where tostring(Params.job_id) in ({training_job_ids})
| where tostring(Caller.email) == "{job_principal}"
| extend Result = parse_json(tostring(parse_json(Response).result))
| project TimeGenerated, JobId = tostring(Params.job_id), RunId = tostring(Result.run_id),
    Caller = tostring(Caller.email)"""
# Characters that would end the KQL string literal the ids are placed in.
_KQL_UNSAFE = frozenset('"\\\n')


def drift_retrain_query(training_job_ids: Sequence[str], job_principal_application_id: str) -> str:
    """The drift alert's query for the training jobs (one per ML project) and the principal the
    monitoring jobs run as."""
    checked = [("training_job_id", job_id) for job_id in training_job_ids] or [("training_job_ids", "")]
    for key, value in (*checked, ("job_principal_application_id", job_principal_application_id)):
        if not value or _KQL_UNSAFE & set(value):
            raise ValueError(f"{key} {value!r}: must be non-empty, without quotes, backslashes or newlines")
    return DRIFT_RETRAIN_QUERY.format(
        newly_ingested=NEWLY_INGESTED,
        training_job_ids=", ".join(f'"{job_id}"' for job_id in training_job_ids),
        job_principal=job_principal_application_id,
    )


# Diagnostic setting name shared by every resource that sends its logs here.
DIAGNOSTICS_NAME = "to-log-analytics"


class MonitoringArgs(ComponentArgs):
    resource_group_name: StrInput = Field(description="the environment's resource group")
    location: str = Field(description="Azure region")
    tags: dict[str, str] = Field(description="common tags")
    workspace_name: str = Field(description="physical Log Analytics workspace name")
    action_group_name: str = Field(description="physical action group name")
    action_group_short_name: str = Field(description="at most 12 characters, shown in notifications")
    alert_rule_name: str = Field(description="physical scheduled query rule name")
    retention_days: int = Field(description="Log Analytics retention (30-730)")
    alert_emails: tuple[str, ...] = Field(description="who is e-mailed when a job fails")
    failed_job_alert: bool = Field(description="create the failed-job alert rule")
    protect: bool = Field(description="protect the Log Analytics workspace")
    retain_on_delete: bool = Field(description="keep the workspace in Azure when removed from code")


class Monitoring(PlatformComponent):
    AREA = "azure"

    log_analytics_workspace_id: pulumi.Output[str]
    log_analytics_customer_id: pulumi.Output[str]
    action_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        workspace = operationalinsights.Workspace(
            f"{name}-log-analytics",
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(
                name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018
            ),
            retention_in_days=args.retention_days,
            tags=args.tags,
            opts=self.child_opts(
                pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.retain_on_delete)
            ),
        )
        action_group = monitor.ActionGroup(
            f"{name}-action-group",
            action_group_name=args.action_group_name,
            group_short_name=args.action_group_short_name,
            resource_group_name=args.resource_group_name,
            location="global",  # action groups are global resources
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=f"email-{index}", email_address=email, use_common_alert_schema=True
                )
                for index, email in enumerate(args.alert_emails)
            ],
            tags=args.tags,
            opts=self.child_opts(),
        )
        if args.failed_job_alert:
            log_alert(
                f"{name}-failed-jobs-alert",
                LogAlert(
                    rule_name=args.alert_rule_name,
                    description="A Databricks job run failed in this environment.",
                    severity=2,
                    query=FAILED_JOBS_QUERY,
                ),
                resource_group_name=args.resource_group_name,
                location=args.location,
                log_analytics_workspace_id=workspace.id,
                action_group_id=action_group.id,
                tags=args.tags,
                opts=self.child_opts(),
            )
        self.log_analytics_workspace_id = workspace.id
        self.log_analytics_customer_id = workspace.customer_id
        self.action_group_id = action_group.id
        self.register(
            log_analytics_workspace_id=self.log_analytics_workspace_id,
            log_analytics_customer_id=self.log_analytics_customer_id,
            action_group_id=self.action_group_id,
        )


class DriftAlertArgs(ComponentArgs):
    resource_group_name: StrInput = Field(description="the environment's resource group")
    location: str = Field(description="Azure region")
    tags: dict[str, str] = Field(description="common tags")
    rule_name: str = Field(description="physical scheduled query rule name")
    severity: int = Field(ge=0, le=4, description="0 critical ... 4 verbose, from settings")
    log_analytics_workspace_id: StrInput = Field(description="where the jobs diagnostic logs go")
    action_group_id: StrInput = Field(description="the environment's action group (the failed-job alert's)")
    training_job_ids: tuple[StrInput, ...] = Field(
        min_length=1, description="the jobs a drift alert starts: each ML project's training job"
    )
    job_principal_application_id: StrInput = Field(description="who the monitoring job runs as")


class DriftAlert(PlatformComponent):
    """Notify the environment's action group when the monitoring job starts a retrain on drift."""

    AREA = "azure"

    def __init__(self, name: str, args: DriftAlertArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        query = pulumi.Output.all(args.job_principal_application_id, *args.training_job_ids).apply(
            lambda ids: drift_retrain_query([str(i) for i in ids[1:]], str(ids[0]))
        )
        rule = log_alert(
            f"{name}-rule",
            LogAlert(
                rule_name=args.rule_name,
                description="The monitoring job measured drift and started the training job; "
                "its challenger meets the same gate and approval.",
                severity=args.severity,
                query=query,
            ),
            resource_group_name=args.resource_group_name,
            location=args.location,
            log_analytics_workspace_id=args.log_analytics_workspace_id,
            action_group_id=args.action_group_id,
            tags=args.tags,
            opts=self.child_opts(),
        )
        self.rule_id: pulumi.Output[str] = rule.id
        self.register(rule_id=self.rule_id)


class LogAlert(NamedTuple):
    """What differs between the environment's log alerts."""

    rule_name: str
    description: str
    severity: int
    query: pulumi.Input[str]


def log_alert(
    name: str,
    alert: LogAlert,
    *,
    resource_group_name: pulumi.Input[str],
    location: str,
    log_analytics_workspace_id: pulumi.Input[str],
    action_group_id: pulumi.Input[str],
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> monitor.ScheduledQueryRule:
    """A scheduled query rule on the environment's Log Analytics: any row ingested since the last
    evaluation (every 5 minutes, looking back an hour for late rows) notifies the action group once
    (no auto-resolve: each row is an event, not a state)."""
    return monitor.ScheduledQueryRule(
        name,
        rule_name=alert.rule_name,
        resource_group_name=resource_group_name,
        location=location,
        description=alert.description,
        display_name=alert.rule_name,
        enabled=True,
        kind=monitor.Kind.LOG_ALERT,
        severity=alert.severity,
        scopes=[log_analytics_workspace_id],
        evaluation_frequency=EVALUATION_FREQUENCY,
        window_size=LOOKBACK,
        criteria=monitor.ScheduledQueryRuleCriteriaArgs(
            all_of=[
                monitor.ConditionArgs(
                    query=alert.query,
                    time_aggregation=monitor.TimeAggregation.COUNT,
                    # Not monitor.ConditionOperator: in SDK v3 that enum holds another API's
                    # "gt"; scheduled query rules expect "GreaterThan".
                    operator="GreaterThan",
                    threshold=0,
                    failing_periods=monitor.ConditionFailingPeriodsArgs(
                        min_failing_periods_to_alert=1, number_of_evaluation_periods=1
                    ),
                )
            ]
        ),
        # DatabricksJobs exists only once the first job log arrives: without this, the first
        # deploy fails validating the query and the second succeeds
        # (docs/traps.md: query-validation).
        skip_query_validation=True,
        auto_mitigate=False,
        actions=monitor.ActionsArgs(action_groups=[action_group_id]),
        tags=tags,
        opts=opts,
    )


def send_diagnostics(
    name: str,
    *,
    resource_uri: pulumi.Input[str],
    log_analytics_workspace_id: pulumi.Input[str],
    log_categories: tuple[str, ...] = (),
    metrics: bool = True,
    opts: pulumi.ResourceOptions,
) -> monitor.DiagnosticSetting:
    """Send a resource's logs and metrics to Log Analytics, in resource-specific tables.

    ``Dedicated`` is what creates tables such as ``DatabricksJobs`` (the failed-job alert reads it);
    the legacy mode would pour everything into ``AzureDiagnostics``. No categories means all logs.
    """
    logs = [
        monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True) for category in log_categories
    ]
    return monitor.DiagnosticSetting(
        name,
        name=DIAGNOSTICS_NAME,
        resource_uri=resource_uri,
        workspace_id=log_analytics_workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=logs or [monitor.DiagnosticsLogSettingsArgs(category_group="allLogs", enabled=True)],
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category="AllMetrics", enabled=True)]
        if metrics
        else None,
        opts=opts,
    )
