"""Lakehouse (quality) monitoring of the serving endpoint's inference table.

The AI gateway creates ``<prefix>_payload`` when the endpoint is created, so the monitor depends
on the endpoint and exists only where the endpoint does. The payload keeps request and response
as JSON text: the monitor profiles prediction drift and volume per served version; feature-level
drift needs an unpacked table (see docs/databricks.md, "not expressed").
"""

from __future__ import annotations

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent, StrInput

# Columns of the AI gateway payload table.
PAYLOAD_COLUMNS = {"timestamp": "request_time", "model_id": "served_entity_id", "prediction": "response"}
REFRESH_CRON = "0 0 6 * * ?"  # daily, after the nightly batch inference


class ModelMonitorArgs(ComponentArgs):
    table_name: StrInput = Field(description="catalog.schema.<prefix>_payload")
    output_schema: StrInput = Field(description="catalog.schema receiving the metric tables.")
    assets_dir: str = Field(pattern=r"^/Workspace/", description="Where the monitor's dashboard lives.")
    failure_emails: tuple[str, ...]
    endpoint: databricks.ModelServing = Field(description="The payload table exists once it does.")
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
                problem_type="PROBLEM_TYPE_CLASSIFICATION",
                timestamp_col=PAYLOAD_COLUMNS["timestamp"],
                model_id_col=PAYLOAD_COLUMNS["model_id"],
                prediction_col=PAYLOAD_COLUMNS["prediction"],
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
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider, depends_on=[args.endpoint])),
        )
        self.register()
