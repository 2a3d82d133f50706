"""`make bench-spark`: the daily jobs as history grows, on the real local Spark (Java 17, pyspark in
`.venv-spark`, a classic session), through the Databricks backend: one batch inference and one
monitoring run on day N of the synthetic project of bench/daily_jobs.py, N = 1, 7 and 30.

What stands in for Databricks: MLflow is the trained local store (the jobs' registry calls are the
same), and Delta Lake is plain Parquet, because delta-spark's jars come from Maven, which nothing
here may reach. So the backend's writes append (`MERGE` and `DELETE` need Delta): the batch job's
MERGE of the day's rows becomes an append of them, what a MERGE restricted to the run's day costs on
Delta; the retention DELETE does nothing (30 days are inside the 90 kept). The reads, the pushed
filters and the scoring are the backend's own code on the real Spark.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import mlflow
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.backends.databricks import DatabricksBackend
from mlops_framework.backends.local import LocalBackend
from mlops_framework.context import TaskContext
from mlops_framework.incremental import WATERMARK_KEYS, ScoredBatch, watermark_row
from mlops_framework.job_graph import load_job_graph
from mlops_framework.params import TaskParameters
from mlops_framework.project import ProjectSpec
from mlops_framework.runner import run_job

from bench.daily_jobs import (
    FIRST_DAY,
    ROWS_PER_DAY,
    SCORING_HOUR,
    bench_project,
    day_rows,
    measure_each,
    ratio_rows,
)
from bench.local_state import local_home
from bench.measurement import Measurement, render
from stacks.console import cli_console

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

CATALOG, SCHEMA = "spark_catalog", "bench"  # the local session catalog takes three-part names
SPARK_ROUNDS = 3  # each round writes its histories anew (38 days of 100k rows): minutes on 2 cores


class ParquetDatabricksBackend(DatabricksBackend):
    """The Databricks backend on local Spark without Delta: MLflow on the local store, writes as appends."""

    def __init__(self, spark: SparkSession, home: Path) -> None:
        super().__init__(spark=spark)
        self._local = LocalBackend(home)

    def configure_mlflow(self) -> None:
        self._local.configure_mlflow()

    def _merge(
        self,
        table: str,
        rows: DataFrame,
        keys: Sequence[str],
        metadata: Mapping[str, str],
        pinned: Mapping[str, str] | None = None,
    ) -> int:
        count = rows.count()
        rows.write.mode("append").format("parquet").saveAsTable(table)
        return int(count)

    def delete_before(self, table: str, column: str, before: date, metadata: Mapping[str, str]) -> int:
        return 0


@contextmanager
def spark_session(warehouse: Path) -> Iterator[SparkSession]:
    """A classic Spark session (a job cluster's kind) on this machine's Java, two cores. Not Spark
    Connect: its local server always listens on 15002 (pyspark/sql/connect/client/core.py,
    ChannelBuilder.default_port), which a Spark tier run at the same time holds."""
    from pyspark.sql import SparkSession  # noqa: PLC0415 - .venv-spark only

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.appName("iris-mlops-bench")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # pandas to Spark through Arrow, as on Databricks (on by default there)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .master("local[2]")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def write_spark_history(backend: ParquetDatabricksBackend, project: ProjectSpec, days: int) -> TaskContext:
    """As bench/daily_jobs.write_local_history, into Parquet tables of the Spark session."""
    spark = backend._spark()
    params = TaskParameters(catalog=CATALOG, schema=SCHEMA)
    ctx = TaskContext.create("bench", params, backend, project)
    champion = ctx.alias_version("champion")
    assert champion is not None  # noqa: S101 - trained first
    model = mlflow.pyfunc.load_model(ctx.model_uri(champion))
    for day in range(days):
        rows = day_rows(project, model, day, champion.version)
        spark.createDataFrame(rows.features).write.mode("append").format("parquet").saveAsTable(
            ctx.table(project.tables.features)
        )
        if day < days - 1:
            predictions = spark.createDataFrame(rows.predictions)
            predictions.write.mode("append").format("parquet").saveAsTable(
                ctx.table(project.tables.predictions)
            )
            scored = ScoredBatch(ROWS_PER_DAY, FIRST_DAY + timedelta(days=day))
            mark = watermark_row(champion.version, scored, FIRST_DAY + timedelta(days=day) + SCORING_HOUR)
            backend.merge_rows(ctx.table(project.tables.watermarks), mark, WATERMARK_KEYS, {})
    return ctx


def spark_daily_measurements() -> list[Measurement]:
    with local_home() as home, tempfile.TemporaryDirectory(prefix="iris-bench-spark-") as warehouse:
        training = load_job_graph(IRIS.package).job("training")
        run_job(training, (f"--catalog={CATALOG}", f"--schema={SCHEMA}"), project=IRIS)
        with spark_session(Path(warehouse)) as spark:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {SCHEMA}")
            backend = ParquetDatabricksBackend(spark, home)
            where = "local Spark 4.0 (classic, Parquet)"
            seconds = measure_each(
                lambda days, round_: write_spark_history(
                    backend, bench_project(f"{days}days_{round_}"), days
                ),
                where,
                SPARK_ROUNDS,
            )
    return ratio_rows(where, seconds)


def main() -> None:
    logging.getLogger("iris_mlops").setLevel(logging.WARNING)
    started = time.perf_counter()
    rows = spark_daily_measurements()
    cli_console().print(render(rows, time.perf_counter() - started, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
