"""Log Analytics for the environment, and an alert with an action group for failed Databricks jobs."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import monitor, operationalinsights
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent, StrInput

# Rows the workspace's "jobs" diagnostic category writes for each failed run (DatabricksJobs table).
FAILED_JOBS_QUERY = """DatabricksJobs
| where ActionName in ("runFailed", "runFailure")
| extend Params = parse_json(RequestParams)
| project TimeGenerated, JobId = tostring(Params.jobId), RunId = tostring(Params.runId)"""

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
            monitor.ScheduledQueryRule(
                f"{name}-failed-jobs-alert",
                rule_name=args.alert_rule_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                description="A Databricks job run failed in this environment.",
                display_name=args.alert_rule_name,
                enabled=True,
                kind=monitor.Kind.LOG_ALERT,
                severity=2,
                scopes=[workspace.id],
                evaluation_frequency="PT5M",
                window_size="PT5M",
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                    all_of=[
                        monitor.ConditionArgs(
                            query=FAILED_JOBS_QUERY,
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
                # DatabricksJobs exists only once the first job log arrives: without this, the
                # first deploy fails validating the query and the second succeeds
                # (docs/traps.md: query-validation).
                skip_query_validation=True,
                auto_mitigate=False,
                actions=monitor.ActionsArgs(action_groups=[action_group.id]),
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
