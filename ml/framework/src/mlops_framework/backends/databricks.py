"""Databricks backend: Unity Catalog tables through Spark, the UC registry, Model Serving.

Written for serverless compute, where the jobs run by default (Databricks, "Serverless compute
limitations" and "Configure Spark properties for serverless notebooks and jobs"):

- only a short list of Spark properties may be set; any other `spark.conf.set` raises
  `[CONFIG_NOT_AVAILABLE]`. So commit provenance goes through the Delta writer's per-write
  `userMetadata` option (docs.delta.io, "Set user-defined commit metadata") when a table is
  created, and into table properties after a MERGE, which has no such option in SQL;
- the caching APIs (`cache`, `persist`) are not supported. The scored row count comes from the
  MERGE result (`num_affected_rows`, Databricks SQL "MERGE INTO", output), not from a second pass;
- the session is a Spark Connect client: a DataFrame is analysed when an action runs, so a missing
  table raises `AnalysisException [TABLE_OR_VIEW_NOT_FOUND]` from `toPandas()`, not from
  `spark.table()` as a classic session (a job cluster) does. `read_table` catches both.

pyspark exists only on a Databricks runtime, so it is imported inside the functions that need it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..backends.databricks_incremental import changed_rows
from ..backends.databricks_scoring import run_literals, score_spark_frame, scored_frame
from ..backends.databricks_serving import publish
from ..backends.databricks_sql import delete_statement, merge_statement, table_properties_statement
from ..backends.databricks_window import rows_or_summary, window_condition
from ..errors import MissingStateError
from ..incremental import ScoredBatch
from ..project import ProjectSpec
from ..vocabulary import SERVED_ENTITY_NAME
from ..window_stats import Summary, WindowRequest

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from pyspark.sql import DataFrame, SparkSession

__all__ = [
    "SERVED_ENTITY_NAME",
    "DatabricksBackend",
    "delete_statement",
    "merge_statement",
    "score_spark_frame",
]

_T = TypeVar("_T")
TRACKING_URI = "databricks"
REGISTRY_URI = "databricks-uc"
# The first column of what a Delta MERGE or DELETE returns (Databricks SQL "MERGE INTO" and
# "DELETE FROM", output).
AFFECTED_ROWS = "num_affected_rows"
# pyspark's error condition for a table that is not there (pyspark/errors/error-conditions.json).
TABLE_NOT_FOUND = "TABLE_OR_VIEW_NOT_FOUND"


def error_condition(error: BaseException) -> str | None:
    """A pyspark error's condition: `PySparkException.getCondition()` (pyspark 4.0, Databricks
    Connect 17), `getErrorClass()` before it (pyspark/errors/exceptions/base.py). Read from the
    error rather than by importing pyspark's classes: classic and Connect sessions raise different
    AnalysisException classes, and this module imports pyspark only where a session runs."""
    for getter in ("getCondition", "getErrorClass"):
        method = getattr(error, getter, None)
        if callable(method):
            condition = method()
            return str(condition) if condition else None
    return None


def user_metadata(metadata: Mapping[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(metadata.items()))


class DatabricksBackend:
    name = "databricks"

    def __init__(self, workspace: WorkspaceClient | None = None, spark: SparkSession | None = None) -> None:
        self._workspace = workspace
        self._spark_session = spark

    def _spark(self) -> SparkSession:
        if self._spark_session is None:
            from pyspark.sql import SparkSession  # noqa: PLC0415 - only a Databricks runtime has pyspark

            self._spark_session = SparkSession.builder.getOrCreate()
        return self._spark_session

    def _client(self) -> WorkspaceClient:
        if self._workspace is None:
            from databricks.sdk import WorkspaceClient  # noqa: PLC0415 - seconds of imports

            self._workspace = WorkspaceClient()
        return self._workspace

    def now(self) -> datetime:
        return datetime.now(UTC)

    def configure_mlflow(self) -> None:
        mlflow.set_tracking_uri(TRACKING_URI)
        mlflow.set_registry_uri(REGISTRY_URI)

    def experiment_artifact_location(self) -> str | None:
        return None

    def ensure_registered_model(self, client: MlflowClient, name: str) -> None:
        """Pulumi creates the model (infra/model_serving.py) and makes the job principal its owner."""
        try:
            client.get_registered_model(name)
        except MlflowException as error:
            raise MissingStateError(
                f"registered model {name} is not readable by this job ({error.error_code}): "
                "`pulumi up` creates it, owned by the job principal; the job never creates it"
            ) from error

    def read_table(self, table: str) -> pd.DataFrame:
        rows: pd.DataFrame = self._reading(table, lambda: self._spark().table(table).toPandas())
        return rows

    def _reading(self, table: str, action: Callable[[], _T]) -> _T:
        """`action()`, with a missing `table` (raised at `spark.table()` on a classic session, at
        the first action on Connect) as MissingStateError."""
        try:
            return action()
        except Exception as error:
            if error_condition(error) != TABLE_NOT_FOUND:
                raise
            raise MissingStateError(f"table {table} does not exist yet ({TABLE_NOT_FOUND})") from error

    def window_frame(self, table: str, column: str, start: datetime, end: datetime) -> DataFrame:
        """The rows of `table` in [start, end) of `column`, as a lazy Spark DataFrame: the filter is
        part of the scan, so Delta skips the files outside the window by their statistics (the
        plan's `PushedFilters`) and only the window's rows go on."""
        return self._spark().table(table).where(window_condition(column, start, end))

    def read_window(
        self, table: str, column: str, start: datetime, end: datetime, columns: Sequence[str]
    ) -> pd.DataFrame:
        rows: pd.DataFrame = self._reading(
            table, lambda: self.window_frame(table, column, start, end).select(*columns).toPandas()
        )
        return rows

    def count_rows(self, table: str) -> int:
        """Delta answers a bare count from its log's statistics (no file is scanned)."""
        return int(self._reading(table, lambda: self._spark().table(table).count()))

    def scored_window(
        self, tables: Sequence[str], column: str, start: datetime, end: datetime, request: WindowRequest
    ) -> pd.DataFrame | Summary:
        """Counted and, above `request.max_rows`, summarised by Spark: the window's rows reach the
        driver only when they are few (spark_stats.py)."""

        def counted(table: str) -> tuple[DataFrame, int]:
            frame = self.window_frame(table, column, start, end).select(*request.columns)
            return frame, frame.count()

        frames, rows = [], 0
        for table in tables:
            try:
                frame, count = self._reading(table, functools.partial(counted, table))
            except MissingStateError:
                continue
            frames.append(frame)
            rows += count
        return rows_or_summary(frames, rows, request)

    def _merge(
        self,
        table: str,
        rows: DataFrame,
        keys: Sequence[str],
        metadata: Mapping[str, str],
        pinned: Mapping[str, str] | None = None,
    ) -> int:
        """Upsert `rows` into `table`; the number of rows the MERGE inserted or updated."""
        spark = self._spark()
        if not spark.catalog.tableExists(table):
            # An empty table with the rows' schema, created with the provenance as commit metadata;
            # the rows themselves always go through the MERGE, whose result counts them.
            empty = rows.limit(0).write.format("delta").option("userMetadata", user_metadata(metadata))
            empty.saveAsTable(table)
        view = f"source_{table.replace('.', '_')}"
        rows.createOrReplaceTempView(view)
        result = spark.sql(merge_statement(table, view, keys, pinned)).collect()
        spark.sql(table_properties_statement(table, metadata))
        return int(result[0][AFFECTED_ROWS]) if result else 0

    def merge_rows(
        self, table: str, rows: pd.DataFrame, keys: Sequence[str], metadata: Mapping[str, str]
    ) -> int:
        spark = self._spark()
        self._merge(table, spark.createDataFrame(rows), keys, metadata)
        count: int = spark.table(table).count()
        return count

    def score_table(
        self,
        model_uri: str,
        model_version: str,
        source: str,
        target: str,
        metadata: Mapping[str, str],
        *,
        project: ProjectSpec,
        scored_at: datetime | None = None,
    ) -> int:
        samples = self._spark().table(source)
        return self._score(
            model_uri,
            model_version,
            samples,
            target=target,
            metadata=metadata,
            project=project,
            scored_at=scored_at,
        )

    def score_changed(
        self,
        model_uri: str,
        model_version: str,
        source: str,
        target: str,
        metadata: Mapping[str, str],
        *,
        project: ProjectSpec,
        scored_at: datetime,
        since: datetime | None,
    ) -> ScoredBatch:
        changed = changed_rows(self._spark(), source, since)
        if changed is None:
            return ScoredBatch(0, None)
        samples, through = changed
        return ScoredBatch(
            self._score(
                model_uri,
                model_version,
                samples,
                target=target,
                metadata=metadata,
                project=project,
                scored_at=scored_at,
            ),
            through,
        )

    def _score(
        self,
        model_uri: str,
        model_version: str,
        samples: DataFrame,
        *,
        target: str,
        metadata: Mapping[str, str],
        project: ProjectSpec,
        scored_at: datetime | None,
    ) -> int:
        when = scored_at or datetime.now(UTC)
        scored = scored_frame(self._spark(), project, model_uri, model_version, samples, scored_at=when)
        pinned = run_literals(model_version, when)
        return self._merge(target, scored, project.prediction_keys, metadata, pinned)

    def delete_before(self, table: str, column: str, before: date, metadata: Mapping[str, str]) -> int:
        spark = self._spark()
        if not spark.catalog.tableExists(table):
            return 0
        result = spark.sql(delete_statement(table, column, before)).collect()
        deleted = int(result[0][AFFECTED_ROWS]) if result else 0
        if deleted:
            spark.sql(table_properties_statement(table, metadata))
        return deleted

    def publish_endpoint(
        self, endpoint_name: str, model_name: str, model_version: str, timeout: timedelta
    ) -> str:
        return publish(self._client(), endpoint_name, model_name, model_version, timeout)
