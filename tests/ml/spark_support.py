"""Real local Spark for the Spark tier (`make test-spark`), with Delta's operations stood in for.

Serverless jobs run on a Spark Connect session, job clusters on a classic one: `local_session`
starts either on this machine's Java 17 (pyspark's `remote("local")` starts a Connect server in
process). Everything the Databricks backend asks of it runs for real (table reads and their errors,
`createDataFrame` types, temp views, `ALTER TABLE ... SET TBLPROPERTIES`, `spark_udf` scoring),
except what only Delta Lake can do: delta-spark's jars come from Maven, which no code here may
reach, and no package on PyPI carries them (the delta-spark wheel is Python only and adds the jars
through `spark.jars.packages`, delta/pip_utils.py). So `DeltaStandIn`:

- creates a `format("delta")` table as a parquet table and records the writer's `userMetadata`;
- sends MERGE and DELETE to the real Spark first, which parses and analyses them (a syntax error,
  an unknown column or a mismatched key fails as it would on Databricks) and then refuses to run
  them on a parquet table; only that refusal is replaced, by the same rows computed with real
  Spark DataFrames (MERGE: the target's unmatched rows plus the source, by column name; DELETE:
  the rows its WHERE clause keeps), written back over the table;
- returns Delta's result row, `num_affected_rows` first (Databricks SQL "MERGE INTO", "DELETE FROM").
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mlops_framework.backends.databricks import error_condition

# What the local Spark 4.0 says when the statement parsed and analysed but the table is not Delta:
# MERGE (QueryExecutionErrors.ddlUnsupportedTemporarilyError) and DELETE (TABLE_OPERATION).
REFUSED = {"_LEGACY_ERROR_TEMP_2096", "UNSUPPORTED_FEATURE.TABLE_OPERATION"}
_MERGE = re.compile(r"MERGE INTO (?P<table>\S+) AS target USING (?P<view>\S+) AS source ON (?P<on>.+?) WHEN ")
_ON = re.compile(r"target\.(\w+) = source\.\1")
_DELETE = re.compile(r"DELETE FROM (?P<table>\S+) WHERE (?P<where>.+)$")
SESSION_KINDS = ("connect", "classic")


@dataclass
class DeltaStandIn:
    """The backend's session: the real one, with Delta's MERGE, DELETE and table creation stood in."""

    spark: Any
    kind: str
    created: dict[str, str | None] = field(default_factory=dict)  # table -> its userMetadata
    statements: list[str] = field(default_factory=list)  # every MERGE and DELETE the real Spark analysed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.spark, name)

    def sql(self, statement: str) -> Any:
        try:
            return self.spark.sql(statement)
        except Exception as error:
            if error_condition(error) not in REFUSED:
                raise
        self.statements.append(statement)
        if merge := _MERGE.match(statement):
            return self._merge(merge["table"], merge["view"], _ON.findall(merge["on"]))
        delete = _DELETE.match(statement)
        assert delete is not None, f"the stand-in runs MERGE and DELETE only: {statement}"
        return self._delete(delete["table"], delete["where"])

    def _overwrite(self, table: str, frame: Any) -> int:
        """Materialise `frame` (it reads `table`), then write it over `table`; its row count."""
        schema = self.spark.table(table).schema
        rows = frame.select(*schema.names).collect()
        self.spark.createDataFrame(rows, schema).write.insertInto(table, overwrite=True)
        return len(rows)

    def _merge(self, table: str, view: str, keys: list[str]) -> Any:
        target, source = self.spark.table(table), self.spark.table(view)
        updated = target.join(source.select(*keys), on=keys, how="left_semi").count()
        inserted = source.count() - updated
        self._overwrite(
            table, target.join(source.select(*keys), on=keys, how="left_anti").unionByName(source)
        )
        return self.spark.createDataFrame(
            [(updated + inserted, updated, 0, inserted)],
            "num_affected_rows long, num_updated_rows long, num_deleted_rows long, num_inserted_rows long",
        )

    def _delete(self, table: str, where: str) -> Any:
        before = self.spark.table(table).count()
        after = self._overwrite(table, self.spark.table(table).where(f"NOT ({where})"))
        return self.spark.createDataFrame([(before - after,)], "num_affected_rows long")


def stand_in_delta_writes(monkeypatch: pytest.MonkeyPatch, session: DeltaStandIn) -> None:
    """`write.format("delta")` writes parquet, and the stand-in records its `userMetadata`."""
    from pyspark.sql.connect.readwriter import DataFrameWriter as ConnectWriter  # noqa: PLC0415
    from pyspark.sql.readwriter import DataFrameWriter  # noqa: PLC0415

    for writer in (DataFrameWriter, ConnectWriter):
        real_format, real_option, real_save = writer.format, writer.option, writer.saveAsTable

        def format_(self: Any, source: str, real: Any = real_format) -> Any:
            self._stand_in_delta = source == "delta"
            return real(self, "parquet" if source == "delta" else source)

        def option(self: Any, key: str, value: Any, real: Any = real_option) -> Any:
            if key == "userMetadata":
                self._stand_in_metadata = value
            return real(self, key, value)

        def save_as_table(self: Any, name: str, *args: Any, real: Any = real_save, **kwargs: Any) -> None:
            real(self, name, *args, **kwargs)
            if getattr(self, "_stand_in_delta", False):
                session.created[name] = getattr(self, "_stand_in_metadata", None)

        monkeypatch.setattr(writer, "format", format_)
        monkeypatch.setattr(writer, "option", option)
        monkeypatch.setattr(writer, "saveAsTable", save_as_table)


@contextmanager
def local_session(kind: str, warehouse: Path) -> Iterator[Any]:
    """A local Spark session of `kind` (connect or classic) on one core, its tables in `warehouse`."""
    try:
        from pyspark.sql import SparkSession  # noqa: PLC0415 - the tier's venv only
    except ModuleNotFoundError as error:
        raise RuntimeError("pyspark is in the Spark tier's venv: run `make test-spark`") from error

    # The Python workers that run `spark_udf` start with this interpreter (pyspark would take
    # `python3` from PATH, which lacks MLflow).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    builder = (
        SparkSession.builder.appName(f"iris-mlops-{kind}")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
    )
    spark = (
        builder.remote("local[1]").getOrCreate()
        if kind == "connect"
        else builder.master("local[1]").getOrCreate()
    )
    try:
        yield spark
    finally:
        spark.stop()
