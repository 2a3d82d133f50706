"""Quality monitoring of the predictions themselves, not of the serving endpoint's raw payload.

The AI gateway's ``<prefix>_payload`` table keeps request and response as JSON text: a monitor
on it profiles strings, not predictions. The monitor therefore watches the predictions table the
wheel writes, one row per scored sample with the predicted label, the model version and when it
was scored (column names from the wheel's ``mlops_framework.vocabulary``; the table is named by the
wheel's ``Tables.prefixed``, stacks/projects.py). The batch inference job feeds it; served
requests reach it once unpacked from the payload into the same columns.

A monitor needs its table to exist. Nothing exists before the first job run, so the monitor is
created by the first ``pulumi up`` after the table appears (pulumi-databricks ``get_tables``, which
lists only tables the caller owns or may SELECT: the deployers hold SELECT on the schema,
infra/access.py) and from then on exists because that ``up`` recorded it (infra/last_deploy.py).
Creating it as a catalog owner needs USE_SCHEMA and SELECT on the table too (Databricks,
quality-monitors create: "be an owner of the table's parent catalog, have USE_SCHEMA on the table's
parent schema, and have SELECT access on the table").
"""

from __future__ import annotations

import pulumi
import pulumi_databricks as databricks
from mlops_framework.vocabulary import PREDICTION_COLUMN, SCORED_AT_COLUMN, VERSION_COLUMN
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent, StrInput

# The monitor's roles of the wheel's scored-row columns (mlops_framework.vocabulary owns their names).
PREDICTION_COLUMNS = {
    "timestamp": SCORED_AT_COLUMN,
    "model_id": VERSION_COLUMN,
    "prediction": PREDICTION_COLUMN,
}
REFRESH_CRON = "0 0 6 * * ?"  # daily, after the nightly batch inference


def table_exists(
    catalog_name: pulumi.Input[str],
    schema_name: pulumi.Input[str],
    table: str,
    *,
    after: list[pulumi.Resource],
    provider: databricks.Provider,
    parent: pulumi.Resource,
) -> pulumi.Output[bool]:
    """Whether ``catalog.schema.table`` exists (unknown during a preview before the schema does)."""
    listed = databricks.get_tables_output(
        catalog_name=catalog_name,
        schema_name=schema_name,
        opts=pulumi.InvokeOutputOptions(provider=provider, parent=parent, depends_on=after),
    )
    full_name = pulumi.Output.concat(catalog_name, ".", schema_name, ".", table)
    return pulumi.Output.all(listed.ids, full_name).apply(lambda pair: pair[1] in (pair[0] or []))


class ModelMonitorArgs(ComponentArgs):
    table_name: StrInput = Field(description="catalog.schema.<the project's predictions table>")
    problem_type: str = Field(
        pattern=r"^PROBLEM_TYPE_(CLASSIFICATION|REGRESSION)$", description="What the predictions are."
    )
    output_schema: StrInput = Field(description="catalog.schema receiving the metric tables.")
    assets_dir: str = Field(pattern=r"^/Workspace/", description="Where the monitor's dashboard lives.")
    failure_emails: tuple[str, ...]
    provider: databricks.Provider


class ModelMonitor(PlatformComponent):
    AREA = "databricks"

    def __init__(self, name: str, args: ModelMonitorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        emails = sorted(set(args.failure_emails))
        databricks.QualityMonitor(
            f"{name}-monitor",
            table_name=args.table_name,
            output_schema_name=args.output_schema,
            assets_dir=args.assets_dir,
            inference_log=databricks.QualityMonitorInferenceLogArgs(
                problem_type=args.problem_type,
                timestamp_col=PREDICTION_COLUMNS["timestamp"],
                model_id_col=PREDICTION_COLUMNS["model_id"],
                prediction_col=PREDICTION_COLUMNS["prediction"],
                granularities=["1 day"],
            ),
            schedule=databricks.QualityMonitorScheduleArgs(
                quartz_cron_expression=REFRESH_CRON, timezone_id="UTC"
            ),
            notifications=databricks.QualityMonitorNotificationsArgs(
                on_failure=databricks.QualityMonitorNotificationsOnFailureArgs(email_addresses=emails)
            )
            if emails
            else None,
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider)),
        )
        self.register()
