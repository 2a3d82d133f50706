"""Databricks backend: Unity Catalog tables through Spark, the UC registry, Model Serving.

pyspark exists only on a Databricks runtime, so it is imported inside the methods that need it.

The serving endpoint belongs to Pulumi (`infra/serving.py`): it creates it and owns its name, the
served entity's name and model, workload size, scale-to-zero and the AI gateway. Deploy owns one
field only, the served entity's `entity_version`; it never creates the endpoint.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import mlflow
import pandas as pd
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.serving import ServedEntityInput, ServedEntityOutput, ServingEndpointDetailed

from iris_mlops.data import FEATURE_COLUMNS, KEY_COLUMN
from iris_mlops.errors import ServingError
from iris_mlops.logs import LOGGER_NAME
from iris_mlops.scoring import PREDICTION_COLUMN, PREDICTION_KEYS, SCORED_AT_COLUMN, VERSION_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TRACKING_URI = "databricks"
REGISTRY_URI = "databricks-uc"
# The same literal as SERVED_ENTITY_NAME in infra/serving.py, which creates the endpoint; the wheel
# does not import infra. tests/ml/test_ml_backends.py fails when the two differ.
SERVED_ENTITY_NAME = "champion"
# Every field a served entity accepts on input that the endpoint also reports back: an update
# sends them all back unchanged except the version (the PUT replaces the whole served entity).
_CARRIED_FIELDS = tuple(
    sorted(
        {field.name for field in dataclasses.fields(ServedEntityInput)}
        & {field.name for field in dataclasses.fields(ServedEntityOutput)} - {"entity_version"}
    )
)

logger = logging.getLogger(f"{LOGGER_NAME}.databricks")


def merge_statement(table: str, source_view: str, keys: Sequence[str]) -> str:
    """Delta MERGE upserting a temp view into `table` (names are validated identifiers)."""
    on = " AND ".join(f"target.{key} = source.{key}" for key in keys)
    return (
        f"MERGE INTO {table} AS target USING {source_view} AS source ON {on} "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )


def served_entity_with_version(current: ServedEntityOutput, model_version: str) -> ServedEntityInput:
    """The served entity exactly as the endpoint reports it, serving `model_version` instead."""
    carried = {name: getattr(current, name) for name in _CARRIED_FIELDS}
    return ServedEntityInput(**carried, entity_version=str(model_version))


def served_entities_with_version(
    endpoint: ServingEndpointDetailed, model_name: str, model_version: str
) -> list[ServedEntityInput] | None:
    """Every served entity of the endpoint as it is, the champion entity at `model_version`;
    None when the champion entity already serves that version (nothing to update)."""
    name = endpoint.name
    entities = list(endpoint.config.served_entities or []) if endpoint.config else []
    by_name = {entity.name: entity for entity in entities}
    champion = by_name.get(SERVED_ENTITY_NAME)
    if champion is None:
        pending = " (its configuration is still being applied; rerun deploy when it is ready)"
        raise ServingError(
            f"serving endpoint {name} has no served entity {SERVED_ENTITY_NAME!r} (found: "
            f"{sorted(str(n) for n in by_name) or 'none'}){pending if endpoint.pending_config else ''}; "
            "the endpoint is Pulumi's (infra/serving.py): fix it with `pulumi up`, not by hand"
        )
    if champion.entity_name != model_name:
        raise ServingError(
            f"serving endpoint {name} serves model {champion.entity_name}, not {model_name}: "
            "check the job's catalog/schema/model_name against the stack's settings"
        )
    if str(champion.entity_version) == str(model_version):
        return None
    return [
        served_entity_with_version(entity, model_version)
        if entity.name == SERVED_ENTITY_NAME
        else served_entity_with_version(entity, str(entity.entity_version))
        for entity in entities
    ]


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
        """Point the endpoint's champion entity at `model_version`, changing nothing else.

        A missing endpoint is not an error: on a fresh environment `pulumi up` creates it once
        `databricks.createServingEndpoint` is true (docs/databricks.md, first deploy). The update is
        not waited for: it takes minutes and the endpoint keeps serving the old version meanwhile.
        """
        workspace = self._workspace or WorkspaceClient()
        try:
            endpoint = workspace.serving_endpoints.get(endpoint_name)
        except NotFound:
            message = (
                f"serving endpoint {endpoint_name} does not exist yet, so nothing serves "
                f"{model_name} v{model_version} in real time; deploy never creates it: `pulumi up` "
                "does once the stack sets databricks.createServingEndpoint: true (docs/databricks.md, "
                "first deploy of an environment)"
            )
            logger.warning(message)
            return message
        entities = served_entities_with_version(endpoint, model_name, model_version)
        if entities is None:
            return f"serving endpoint {endpoint_name} already serves {model_name} v{model_version}"
        workspace.serving_endpoints.update_config(
            name=endpoint_name,
            served_entities=entities,
            traffic_config=endpoint.config.traffic_config if endpoint.config else None,
        )
        serves = f"{SERVED_ENTITY_NAME} -> {model_name} v{model_version}"
        return f"updating serving endpoint {endpoint_name}: {serves}"
