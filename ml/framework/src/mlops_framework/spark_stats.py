"""A window's drift summary computed by Spark (window_stats.Summary): only counts and quantiles
reach the driver, whatever the window's size.

Three aggregations over the window, each a pass the executors share out:
- per numeric column, its finite values' count and how many lie below each reference decile edge
  (`count(CASE WHEN ...)`): exact bin counts for PSI;
- `DataFrame.approxQuantile` at window_stats.probabilities(), with RELATIVE_ERROR (Greenwald-Khanna:
  each returned value's rank is within RELATIVE_ERROR x rows of the asked one; pyspark
  `DataFrameStatFunctions.approxQuantile`, which ignores nulls, so non-finite values are nulled first);
- per class column, a group-by count.

pyspark exists only where a session runs (Databricks, the Spark tier), so it is imported inside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .window_stats import NumericSummary, Summary, probabilities

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# approxQuantile's rank error, as a share of the rows (0 would be exact and costly).
RELATIVE_ERROR = 1e-4


def _finite(name: str) -> Column:
    from pyspark.sql import functions  # noqa: PLC0415 - see the module's docstring

    value = functions.col(name).cast("double")
    finite = value.isNotNull() & ~functions.isnan(value) & (functions.abs(value) != float("inf"))
    return functions.when(finite, value)


def summarize_spark(
    frame: DataFrame, edges: Mapping[str, Sequence[float]], classes: Sequence[str]
) -> Summary:
    from pyspark.sql import functions  # noqa: PLC0415 - see the module's docstring

    numeric = list(edges)
    values = frame.select(*(_finite(name).alias(name) for name in numeric), *classes)
    counts = [functions.count(functions.lit(1)).alias("__rows")]
    counts += [functions.count(functions.col(name)).alias(f"{name}__rows") for name in numeric]
    for name in numeric:
        counts += [
            functions.count(functions.when(functions.col(name) < edge, 1)).alias(f"{name}__below_{index}")
            for index, edge in enumerate(edges[name])
        ]
    totals = values.agg(*counts).collect()[0].asDict()
    quantiles = values.approxQuantile(numeric, probabilities(), RELATIVE_ERROR) if numeric else []
    summaries = {}
    for name, column_quantiles in zip(numeric, quantiles, strict=True):
        rows = int(totals[f"{name}__rows"])
        below = [int(totals[f"{name}__below_{index}"]) for index in range(len(edges[name]))]
        bins = [b - a for a, b in zip([0, *below], [*below, rows], strict=True)]
        summaries[name] = NumericSummary(rows, [float(q) for q in column_quantiles] if rows else [], bins)
    class_counts = {}
    for name in classes:
        grouped = values.where(functions.col(name).isNotNull()).groupBy(name).count().collect()
        class_counts[name] = {str(row[name]): int(row["count"]) for row in grouped}
    return Summary(int(totals["__rows"]), summaries, class_counts)
