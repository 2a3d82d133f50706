"""Batch scoring with `mlflow.pyfunc.spark_udf` (opt-in: `pytest -m spark`; needs pyspark + Java)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from iris_mlops.backends.databricks import score_spark_frame
from iris_mlops.data import FEATURE_COLUMNS, KEY_COLUMN, load_iris_frame
from iris_mlops.iris_project import IRIS
from iris_mlops.vocabulary import PREDICTION_COLUMN, VERSION_COLUMN

pytestmark = pytest.mark.spark
# Skip at collection, before the session fixtures train a model for nothing.
sql = pytest.importorskip("pyspark.sql", reason="pyspark is not installed")


def test_spark_udf_scores_every_row_with_the_champion_version(trained: Path) -> None:
    spark = sql.SparkSession.builder.master("local[1]").appName("iris-mlops-test").getOrCreate()
    try:
        samples = spark.createDataFrame(load_iris_frame().loc[:, [KEY_COLUMN, *FEATURE_COLUMNS]])
        scored = score_spark_frame(
            spark,
            IRIS,
            "models:/main.iris.iris_classifier@champion",
            "1",
            samples,
            scored_at=datetime.now(UTC),
        )
        rows = scored.toPandas()
    finally:
        spark.stop()
    assert len(rows) == 150
    assert set(rows[PREDICTION_COLUMN]) <= {"setosa", "versicolor", "virginica"}
    assert set(rows[VERSION_COLUMN]) == {"1"}
