"""The monitor's window on Spark (DatabricksBackend.window_frame, scored_window): its filter as
SQL, and what of it reaches the driver."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pandas as pd

from ..spark_stats import summarize_spark
from ..window_stats import Summary, WindowRequest

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def window_condition(column: str, start: datetime, end: datetime) -> str:
    """`column` in [start, end), as SQL with UTC timestamp literals (an explicit zone, so the
    session time zone does not move the window; Spark SQL "Literals", timestamp)."""
    bounds = (f"TIMESTAMP'{when.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z'" for when in (start, end))
    return "{0} >= {1} AND {0} < {2}".format(column, *bounds)


def rows_or_summary(frames: Sequence[DataFrame], rows: int, request: WindowRequest) -> pd.DataFrame | Summary:
    """The window's rows on the driver if `request` wants that many, else Spark's summary of them."""
    if not frames:
        return pd.DataFrame(columns=request.columns)
    window = functools.reduce(lambda left, right: left.unionByName(right), frames)
    if request.wants_rows(rows):
        collected: pd.DataFrame = window.toPandas()
        return collected
    return summarize_spark(window, request.edges, request.classes)
