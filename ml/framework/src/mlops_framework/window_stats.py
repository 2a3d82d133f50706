"""Drift from bounded summaries: what the monitor compares when a window or a reference is too large
for the driver (more than EXACT_MAX_ROWS rows).

A column's summary is its row count, its values at QUANTILE_POINTS evenly spaced probabilities and,
for PSI, its counts in the reference's decile bins; a class column's summary is its class counts.
Summaries have a fixed size whatever the rows: the reference's is made once, when the champion is
trained (drift_reference.py), the window's by the backend (numpy locally, Spark aggregates and
`approxQuantile` on Databricks, spark_stats.py).

- PSI and the class test (chi-square) need only bin and class counts, which are exact: the same
  numbers as drift.py's on the rows.
- KS: the two empirical CDFs are read off the two quantile grids (a step function: the share of
  grid probabilities whose quantile is at most x) at every grid point of either side. Each CDF is
  then off by at most one grid step (1 / (QUANTILE_POINTS - 1)) plus the quantiles' own rank error
  (Spark's `relativeError`), so D is off by at most twice that; the p-value is scipy's asymptotic
  one for that D and the two row counts (`ks_2samp`'s `method="asymp"`, what `ks_2samp` uses
  anyway once a sample has more than 10,000 rows). docs/ml.md ("Drift at scale") gives the
  measured error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .drift import (
    DriftThresholds,
    FeatureDrift,
    Values,
    bin_counts,
    categorical_drift_of_counts,
    clean,
    decile_edges,
    not_enough,
    psi_of_counts,
    status_of,
)

# Above this many rows in the window or the reference, drift is computed from summaries.
EXACT_MAX_ROWS = 100_000
QUANTILE_POINTS = 1001  # probabilities 0, 0.001, ..., 1: one grid step is 0.001 of a CDF


@dataclass(frozen=True)
class WindowRequest:
    """What the monitor asks a backend for: the window's rows if there are at most `max_rows`
    (None: whatever their number), else their Summary over `edges` (numeric columns) and `classes`."""

    columns: list[str]
    edges: dict[str, list[float]] = field(default_factory=dict)
    classes: list[str] = field(default_factory=list)
    max_rows: int | None = EXACT_MAX_ROWS

    def wants_rows(self, rows: int) -> bool:
        return self.max_rows is None or rows <= self.max_rows


def probabilities() -> list[float]:
    return [float(p) for p in np.linspace(0.0, 1.0, QUANTILE_POINTS)]


@dataclass(frozen=True)
class NumericSummary:
    rows: int  # finite values
    quantiles: list[float]  # at probabilities(); empty without rows
    bins: list[int]  # counts in the reference's decile bins (drift.bin_counts)


@dataclass(frozen=True)
class Summary:
    """One side of the comparison, by window column."""

    rows: int = 0
    numeric: dict[str, NumericSummary] = field(default_factory=dict)
    classes: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReferenceProfile:
    """The champion's training data, summarised: its decile edges (what the window is binned by)
    and its summary, by the window column each reference column is compared with."""

    rows: int
    edges: dict[str, list[float]]
    summary: Summary

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceProfile:
        summary = data["summary"]
        numeric = {name: NumericSummary(**value) for name, value in summary["numeric"].items()}
        classes = dict(summary["classes"])
        return cls(int(data["rows"]), dict(data["edges"]), Summary(int(summary["rows"]), numeric, classes))


def numeric_summary(values: pd.Series | Values, edges: Sequence[float]) -> NumericSummary:
    finite = clean(values)
    if not len(finite):
        return NumericSummary(0, [], [0] * (len(edges) + 1))
    quantiles = np.quantile(finite, probabilities())
    counts = bin_counts(np.asarray(edges, dtype="float64"), finite)
    return NumericSummary(len(finite), [float(q) for q in quantiles], [int(c) for c in counts])


def class_counts(values: pd.Series) -> dict[str, int]:
    return {str(name): int(count) for name, count in values.dropna().astype(str).value_counts().items()}


def summarize_frame(
    frame: pd.DataFrame, edges: Mapping[str, Sequence[float]], classes: Sequence[str]
) -> Summary:
    """A window's summary computed exactly on the driver (numpy)."""
    numeric = {name: numeric_summary(frame[name], column_edges) for name, column_edges in edges.items()}
    return Summary(len(frame), numeric, {name: class_counts(frame[name]) for name in classes})


def reference_profile(
    reference: pd.DataFrame, numeric: Sequence[tuple[str, str]], categorical: Sequence[tuple[str, str]]
) -> ReferenceProfile:
    """The reference's profile for (reference column, window column) pairs (monitor.py's)."""
    edges = {win: [float(e) for e in decile_edges(clean(reference[ref]))] for ref, win in numeric}
    summary = Summary(
        len(reference),
        {win: numeric_summary(reference[ref], edges[win]) for ref, win in numeric},
        {win: class_counts(reference[ref]) for ref, win in categorical},
    )
    return ReferenceProfile(len(reference), edges, summary)


def _cdf(quantiles: Values, grid: Values) -> Values:
    """The share of rows at most each grid value, read off a quantile grid (ties: the last)."""
    steps = np.linspace(0.0, 1.0, len(quantiles))
    below = np.searchsorted(quantiles, grid, side="right")
    shares: Values = np.where(below > 0, steps[np.maximum(below - 1, 0)], 0.0)
    return shares


def ks_of_quantiles(reference: NumericSummary, window: NumericSummary) -> tuple[float, float]:
    """KS D and its asymptotic p-value from two quantile grids (see the module's docstring)."""
    ref, win = np.asarray(reference.quantiles), np.asarray(window.quantiles)
    grid = np.union1d(ref, win)
    statistic = float(np.max(np.abs(_cdf(ref, grid) - _cdf(win, grid))))
    larger, smaller = sorted((float(reference.rows), float(window.rows)), reverse=True)
    p_value = float(np.clip(stats.kstwo.sf(statistic, np.round(larger * smaller / (larger + smaller))), 0, 1))
    return statistic, p_value


def numeric_drift_of_summaries(
    feature: str, reference: NumericSummary, window: NumericSummary, thresholds: DriftThresholds
) -> FeatureDrift:
    if min(reference.rows, window.rows) < thresholds.min_rows:
        return not_enough(feature, "numeric", reference.rows, window.rows)
    psi = psi_of_counts(np.asarray(reference.bins), np.asarray(window.bins))
    statistic, p_value = ks_of_quantiles(reference, window)
    status = status_of(psi, p_value, thresholds)
    return FeatureDrift(feature, "numeric", status, reference.rows, window.rows, psi, statistic, p_value)


def compare_summaries(
    reference: ReferenceProfile, window: Summary, thresholds: DriftThresholds
) -> list[FeatureDrift]:
    """drift.compare's results, from summaries: numeric columns first, then class columns."""
    results = [
        numeric_drift_of_summaries(name, summary, window.numeric[name], thresholds)
        for name, summary in reference.summary.numeric.items()
    ]
    results += [
        categorical_drift_of_counts(name, counts, window.classes[name], thresholds)
        for name, counts in reference.summary.classes.items()
    ]
    return results
