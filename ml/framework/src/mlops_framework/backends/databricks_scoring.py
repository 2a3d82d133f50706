"""Batch scoring on Spark for the Databricks backend: the scored rows of a run, on the driver when
they are few, else with the model as a Spark UDF on the executors, and the run's literals the
predictions MERGE pins (DatabricksBackend._score)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import mlflow

from ..backends.databricks_sql import sql_string
from ..project import ProjectSpec
from ..scoring import prediction_rows, scoring_day
from ..vocabulary import PREDICTION_COLUMN, SCORED_AT_COLUMN, SCORED_ON_COLUMN, VERSION_COLUMN, ProblemKind

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Up to this many rows are scored on the driver with pandas: no model shipped to executors through
# `spark_udf`, no UDF. Iris has 150; larger tables scale out instead.
DRIVER_SCORING_MAX_ROWS = 100_000
# The UDF's result type: a class label, or a number (mlflow.pyfunc.spark_udf `result_type`).
SPARK_RESULT_TYPE = {ProblemKind.CLASSIFICATION: "string", ProblemKind.REGRESSION: "double"}


def score_spark_frame(
    spark: SparkSession,
    project: ProjectSpec,
    model_uri: str,
    model_version: str,
    samples: DataFrame,
    *,
    scored_at: datetime,
) -> DataFrame:
    """Batch scoring that scales out with the cluster: the pyfunc model as a Spark UDF. The run's
    time and UTC day are literals from the driver, so they do not depend on the session's time
    zone (`current_date()` would)."""
    from pyspark.sql import functions  # noqa: PLC0415 - only a Databricks runtime has pyspark

    result_type = SPARK_RESULT_TYPE[project.kind]
    predict = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=result_type, env_manager="local")
    features = project.feature_columns
    return samples.select(
        project.key_column,
        *features,
        predict(functions.struct(*features)).alias(PREDICTION_COLUMN),
        functions.lit(str(model_version)).alias(VERSION_COLUMN),
        functions.lit(scored_at.astimezone(UTC)).alias(SCORED_AT_COLUMN),
        functions.lit(scoring_day(scored_at)).alias(SCORED_ON_COLUMN),
    )


def scored_frame(
    spark: SparkSession,
    project: ProjectSpec,
    model_uri: str,
    model_version: str,
    samples: DataFrame,
    *,
    scored_at: datetime,
) -> DataFrame:
    """The prediction rows of `samples`: scored on the driver up to DRIVER_SCORING_MAX_ROWS rows,
    on the executors above."""
    if samples.count() > DRIVER_SCORING_MAX_ROWS:
        return score_spark_frame(spark, project, model_uri, model_version, samples, scored_at=scored_at)
    local = samples.toPandas()
    predicted = mlflow.pyfunc.load_model(model_uri).predict(project.features_of(local))
    return spark.createDataFrame(prediction_rows(project, local, predicted, model_version, scored_at))


def run_literals(model_version: str, scored_at: datetime) -> dict[str, str]:
    """The run's version and day as SQL literals: put in the MERGE's condition, the MERGE reads
    that day's files, not the history."""
    return {
        VERSION_COLUMN: sql_string(str(model_version)),
        SCORED_ON_COLUMN: f"DATE'{scoring_day(scored_at)}'",
    }
