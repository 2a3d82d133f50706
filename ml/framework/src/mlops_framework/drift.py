"""Drift statistics: recent scored data against the champion's training data, per feature.

Pure functions over pandas/numpy, no MLflow and no table: the monitoring step (steps/monitor.py)
feeds them and writes what they return. Per numeric feature:

- the population stability index (PSI) over the reference's decile bins, computed as the symmetric
  Kullback-Leibler divergence with `scipy.special.rel_entr` (PSI = KL(a||e) + KL(e||a));
- the two-sample Kolmogorov-Smirnov test (`scipy.stats.ks_2samp`).

The prediction distribution (a class label) gets the PSI over classes and a chi-square test of the
window's class counts against the reference's class shares (`scipy.stats.chisquare`).

A feature drifts when its PSI reaches the PSI threshold AND its test rejects "same distribution" at
the p-value threshold: PSI alone is noisy on small windows, a test alone flags tiny shifts on big
ones. A window or reference with fewer than `min_rows` rows is "not enough data": no statistic, no
alert, never a crash.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

PSI_BINS = 10  # deciles of the reference
# Proportions are floored here before the logarithm: an empty bin would make PSI infinite.
PSI_FLOOR = 1e-4


Values = npt.NDArray[np.float64]


class DriftStatus(StrEnum):
    OK = "ok"
    DRIFT = "drift"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True)
class DriftThresholds:
    psi: float  # a feature drifts from this PSI on (0.1 "moderate", 0.25 "major" by convention)
    p_value: float  # ... when its two-sample test also rejects at this level
    min_rows: int  # fewer rows in the window or the reference: not enough data


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # "numeric" or "categorical"
    status: DriftStatus
    reference_rows: int
    window_rows: int
    psi: float | None = None
    statistic: float | None = None  # KS D, or the chi-square statistic
    p_value: float | None = None

    @property
    def drifted(self) -> bool:
        return self.status is DriftStatus.DRIFT


def clean(values: pd.Series | Values | Sequence[float]) -> Values:
    array: Values = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype="float64")
    finite: Values = array[np.isfinite(array)]
    return finite


def psi_of_shares(expected: Values, actual: Values) -> float:
    """PSI of two proportion vectors (each summing to 1), floored against empty bins."""
    e = np.clip(expected, PSI_FLOOR, None)
    a = np.clip(actual, PSI_FLOOR, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum(special.rel_entr(a, e) + special.rel_entr(e, a)))


def decile_edges(reference: Values, bins: int = PSI_BINS) -> Values:
    """The inner edges of the reference's quantile bins (open-ended at both ends)."""
    edges: Values = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    return edges


def bin_counts(edges: Values, values: Values) -> npt.NDArray[np.int64]:
    """How many of `values` fall in each bin: [-inf, e0), [e0, e1), ..., [e_last, inf)."""
    counts: npt.NDArray[np.int64] = np.bincount(
        np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1
    )
    return counts


def psi_of_counts(expected: npt.NDArray[np.int64], actual: npt.NDArray[np.int64]) -> float:
    return psi_of_shares(expected / expected.sum(), actual / actual.sum())


def psi_numeric(reference: Values, window: Values, bins: int = PSI_BINS) -> float:
    """PSI over the reference's quantile bins."""
    edges = decile_edges(reference, bins)
    return psi_of_counts(bin_counts(edges, reference), bin_counts(edges, window))


def not_enough(feature: str, kind: str, reference: int, window: int) -> FeatureDrift:
    return FeatureDrift(feature, kind, DriftStatus.NOT_ENOUGH_DATA, reference, window)


def status_of(psi: float, p_value: float, thresholds: DriftThresholds) -> DriftStatus:
    drifted = psi >= thresholds.psi and p_value < thresholds.p_value
    return DriftStatus.DRIFT if drifted else DriftStatus.OK


def numeric_drift(
    feature: str,
    reference: pd.Series | Values,
    window: pd.Series | Values,
    thresholds: DriftThresholds,
) -> FeatureDrift:
    ref, win = clean(reference), clean(window)
    if min(len(ref), len(win)) < thresholds.min_rows:
        return not_enough(feature, "numeric", len(ref), len(win))
    psi = psi_numeric(ref, win)
    test = stats.ks_2samp(ref, win)
    statistic, p_value = float(test.statistic), float(test.pvalue)
    return FeatureDrift(
        feature, "numeric", status_of(psi, p_value, thresholds), len(ref), len(win), psi, statistic, p_value
    )


def categorical_drift(
    feature: str, reference: pd.Series, window: pd.Series, thresholds: DriftThresholds
) -> FeatureDrift:
    ref, win = reference.dropna().astype(str), window.dropna().astype(str)
    return categorical_drift_of_counts(
        feature, ref.value_counts().to_dict(), win.value_counts().to_dict(), thresholds
    )


def categorical_drift_of_counts(
    feature: str, reference: Mapping[str, int], window: Mapping[str, int], thresholds: DriftThresholds
) -> FeatureDrift:
    """The class counts of the reference and the window (what a Spark group-by returns too)."""
    ref_rows, win_rows = sum(reference.values()), sum(window.values())
    if min(ref_rows, win_rows) < thresholds.min_rows:
        return not_enough(feature, "categorical", ref_rows, win_rows)
    classes = sorted(set(reference) | set(window))
    expected = np.array([reference.get(name, 0) for name in classes], dtype="float64") / ref_rows
    observed = np.array([window.get(name, 0) for name in classes], dtype="int64")
    psi = psi_of_shares(expected, observed / observed.sum())
    # A class the reference never had gets the floor share, so the test stays defined (and rejects).
    shares = np.clip(expected, PSI_FLOOR, None)
    test = stats.chisquare(observed, f_exp=shares / shares.sum() * observed.sum())
    statistic, p_value = float(test.statistic), float(test.pvalue)
    status = status_of(psi, p_value, thresholds)
    return FeatureDrift(feature, "categorical", status, ref_rows, win_rows, psi, statistic, p_value)


def compare(
    reference: pd.DataFrame,
    window: pd.DataFrame,
    numeric: Sequence[tuple[str, str]],
    categorical: Sequence[tuple[str, str]],
    thresholds: DriftThresholds,
) -> list[FeatureDrift]:
    """Every (reference column, window column) numeric pair, then every categorical pair; each
    result is named by its window column."""
    results = [
        numeric_drift(window_column, reference[ref_column], window[window_column], thresholds)
        for ref_column, window_column in numeric
    ]
    results += [
        categorical_drift(window_column, reference[ref_column], window[window_column], thresholds)
        for ref_column, window_column in categorical
    ]
    return results


def summary(results: Sequence[FeatureDrift], window_id: str, champion_version: str) -> dict[str, object]:
    """What an alert carries (the retrain's `drift_summary` parameter): the drifted features."""
    drifted = sorted((r for r in results if r.drifted), key=lambda r: -(r.psi or 0.0))
    return {
        "window": window_id,
        "champion_version": champion_version,
        "drifted": {r.feature: round(r.psi or math.nan, 4) for r in drifted},
    }
