"""The Databricks backend's incremental read: the feature rows stamped after a watermark.

The bounds are SQL expressions on `updated_at` with microsecond literals (`timestamp_micros`,
`unix_micros`: Spark SQL built-ins since 3.1), so they hold whatever the session time zone, and a
plain comparison of a column with a literal is what Spark pushes into the scan (the plan's
`PushedFilters`; Delta and Parquet skip files and row groups by their min/max statistics). pyspark's
`functions` are not needed: the expressions are strings the session parses.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..incremental import from_micros, micros, require_watermark_column
from ..vocabulary import UPDATED_AT_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def after(since: datetime) -> str:
    return f"{UPDATED_AT_COLUMN} > timestamp_micros({micros(since)})"


def through_clause(through: datetime) -> str:
    return f"{UPDATED_AT_COLUMN} <= timestamp_micros({micros(through)})"


def changed_rows(
    spark: SparkSession, table: str, since: datetime | None
) -> tuple[DataFrame, datetime] | None:
    """The rows of `table` stamped in (since, through], `through` being the newest stamp the table
    holds now, and `through`; None when nothing is stamped after `since`. Bounding both ends makes
    the rows scored and the watermark recorded one consistent set, even if a writer commits between
    the two reads."""
    samples = spark.table(table)
    require_watermark_column(table, list(samples.columns))
    if since is not None:
        samples = samples.where(after(since))
    newest = samples.selectExpr(f"unix_micros(max({UPDATED_AT_COLUMN})) AS through").collect()[0]["through"]
    if newest is None:
        return None
    through = from_micros(newest)
    return samples.where(through_clause(through)), through
