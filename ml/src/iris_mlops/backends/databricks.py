"""Databricks backend: Unity Catalog tables through Spark, the UC registry, Model Serving.

pyspark exists only on a Databricks runtime, so it is imported inside the methods that need it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import mlflow
import pandas as pd  # type: ignore[import-untyped]
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.serving import EndpointCoreConfigInput, ServedEntityInput

from iris_mlops.data import FEATURE_COLUMNS, KEY_COLUMN
from iris_mlops.scoring import PREDICTION_COLUMN, PREDICTION_KEYS, SCORED_AT_COLUMN, VERSION_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession  # type: ignore[import-not-found]

TRACKING_URI = "databricks"
REGISTRY_URI = "databricks-uc"
SERVED_WORKLOAD_SIZE = "Small"


def merge_statement(table: str, source_view: str, keys: Sequence[str]) -> str:
    """Delta MERGE upserting a temp view into `table` (names are validated identifiers)."""
    on = " AND ".join(f"target.{key} = source.{key}" for key in keys)
    return (
        f"MERGE INTO {table} AS target USING {source_view} AS source ON {on} "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )


def served_entity(model_name: str, model_version: str) -> ServedEntityInput:
    return ServedEntityInput(
        entity_name=model_name,
        entity_version=str(model_version),
        workload_size=SERVED_WORKLOAD_SIZE,
        scale_to_zero_enabled=True,
    )


def score_spark_frame(
    spark: SparkSession, model_uri: str, model_version: str, samples: DataFrame
) -> DataFrame:
    """Batch scoring that scales out with the cluster: the pyfunc model as a Spark UDF."""
    from pyspark.sql import functions  # noqa: PLC0415 - only a Databricks runtime has pyspark

    predict = mlflow.pyfunc.spark_udf(spark, model_uri, result_type="string", env_manager="local")
    return samples.select(
        KEY_COLUMN,
        *FEATURE_COLUMNS,
        predict(functions.struct(*FEATURE_COLUMNS)).alias(PREDICTION_COLUMN),
        functions.lit(str(model_version)).alias(VERSION_COLUMN),
        functions.current_timestamp().alias(SCORED_AT_COLUMN),
    )


class DatabricksBackend:
    name = "databricks"

    def __init__(self, workspace: WorkspaceClient | None = None) -> None:
        self._workspace = workspace

    @staticmethod
    def _spark() -> SparkSession:
        from pyspark.sql import SparkSession  # noqa: PLC0415 - only a Databricks runtime has pyspark

        return SparkSession.builder.getOrCreate()

    def configure_mlflow(self) -> None:
        mlflow.set_tracking_uri(TRACKING_URI)
        mlflow.set_registry_uri(REGISTRY_URI)

    def experiment_artifact_location(self) -> str | None:
        return None

    def read_table(self, table: str) -> pd.DataFrame:
        frame: pd.DataFrame = self._spark().table(table).toPandas()
        return frame

    def _merge(self, table: str, rows: DataFrame, keys: Sequence[str], metadata: Mapping[str, str]) -> None:
        spark = rows.sparkSession
        user_metadata = ",".join(f"{key}={value}" for key, value in metadata.items())
        spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", user_metadata)
        if not spark.catalog.tableExists(table):
            rows.write.format("delta").saveAsTable(table)
            return
        view = f"source_{table.replace('.', '_')}"
        rows.createOrReplaceTempView(view)
        spark.sql(merge_statement(table, view, keys))

    def merge_rows(
        self, table: str, rows: pd.DataFrame, keys: Sequence[str], metadata: Mapping[str, str]
    ) -> int:
        spark = self._spark()
        self._merge(table, spark.createDataFrame(rows), keys, metadata)
        count: int = spark.table(table).count()
        return count

    def score_table(
        self, model_uri: str, model_version: str, source: str, target: str, metadata: Mapping[str, str]
    ) -> int:
        spark = self._spark()
        scored = score_spark_frame(spark, model_uri, model_version, spark.table(source)).cache()
        self._merge(target, scored, PREDICTION_KEYS, metadata)
        count: int = scored.count()
        return count

    def publish_endpoint(self, endpoint_name: str, model_name: str, model_version: str) -> str:
        """Create the endpoint on first deploy, else point it at the new version (no waiting:
        the update takes minutes and the endpoint keeps serving the old version meanwhile)."""
        workspace = self._workspace or WorkspaceClient()
        entity = served_entity(model_name, model_version)
        try:
            workspace.serving_endpoints.get(endpoint_name)
        except NotFound:
            workspace.serving_endpoints.create(
                name=endpoint_name,
                config=EndpointCoreConfigInput(name=endpoint_name, served_entities=[entity]),
            )
            return f"created serving endpoint {endpoint_name} -> {model_name} v{model_version}"
        workspace.serving_endpoints.update_config(name=endpoint_name, served_entities=[entity])
        return f"updating serving endpoint {endpoint_name} -> {model_name} v{model_version}"
