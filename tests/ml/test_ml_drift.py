"""The drift statistics (mlops_framework.drift): no drift on identical data, the PSI a known shift must
give, and "not enough data" instead of a crash or a false alert on empty and tiny windows."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from mlops_framework.drift import (
    PSI_BINS,
    DriftStatus,
    DriftThresholds,
    categorical_drift,
    compare,
    numeric_drift,
    psi_numeric,
    summary,
)
from mlops_framework.params import Environment, TaskParameters
from mlops_framework.steps.monitor import thresholds
from mlops_framework.vocabulary import DECISION_DEFAULTS
from scipy import stats

LIMITS = DriftThresholds(psi=0.2, p_value=0.01, min_rows=50)


def test_identical_distributions_give_psi_near_zero_and_no_alert() -> None:
    rng = np.random.default_rng(1)
    reference, window = rng.normal(size=20_000), rng.normal(size=20_000)
    assert psi_numeric(reference, reference) == pytest.approx(0.0, abs=1e-12)
    result = numeric_drift("x", reference, window, LIMITS)
    assert result.status is DriftStatus.OK
    assert result.psi is not None
    assert result.psi < 0.01
    assert result.p_value is not None
    assert result.p_value > LIMITS.p_value


def test_a_known_mean_shift_gives_the_analytic_psi() -> None:
    """N(0,1) against N(0.5,1) over the reference's deciles: the expected shares of each bin follow
    from the normal CDF, so the PSI the samples must give is computed, not copied."""
    shift = 0.5
    rng = np.random.default_rng(2)
    reference, window = rng.normal(size=200_000), rng.normal(shift, 1.0, size=200_000)
    edges = stats.norm.ppf(np.linspace(0, 1, PSI_BINS + 1))
    shifted = np.diff(stats.norm.cdf(edges - shift))
    expected_psi = float(np.sum((shifted - 1 / PSI_BINS) * np.log(shifted * PSI_BINS)))
    result = numeric_drift("x", reference, window, LIMITS)
    assert result.psi == pytest.approx(expected_psi, abs=0.01)
    assert result.status is DriftStatus.DRIFT
    assert result.statistic == pytest.approx(stats.norm.cdf(shift / 2) - stats.norm.cdf(-shift / 2), abs=0.01)


def test_a_shift_below_the_psi_threshold_is_no_alert_even_when_the_test_rejects() -> None:
    rng = np.random.default_rng(3)
    result = numeric_drift("x", rng.normal(size=50_000), rng.normal(0.1, 1.0, size=50_000), LIMITS)
    assert result.p_value is not None
    assert result.p_value < LIMITS.p_value
    assert result.status is DriftStatus.OK  # but it is small: PSI ~0.01


@pytest.mark.parametrize(
    "window",
    [np.array([]), np.array([1.0, 2.0, 3.0]), np.array([math.nan] * 500), np.full(49, 10.0)],
    ids=["empty", "three rows", "only NaN", "one row short"],
)
def test_empty_and_tiny_windows_are_not_enough_data_never_an_alert(window: np.ndarray) -> None:
    reference = np.random.default_rng(4).normal(size=1000)
    result = numeric_drift("x", reference, window, LIMITS)
    assert result.status is DriftStatus.NOT_ENOUGH_DATA
    assert not result.drifted
    assert (result.psi, result.p_value) == (None, None)


def test_a_tiny_reference_is_not_enough_data_too() -> None:
    result = numeric_drift("x", np.ones(10), np.random.default_rng(5).normal(size=1000), LIMITS)
    assert result.status is DriftStatus.NOT_ENOUGH_DATA


def test_prediction_shares_drift_when_one_class_dominates() -> None:
    reference = pd.Series(["a", "b", "c"] * 100)
    same = categorical_drift("prediction", reference, pd.Series(["c", "b", "a"] * 60), LIMITS)
    assert same.status is DriftStatus.OK
    assert same.psi == pytest.approx(0.0, abs=1e-9)
    skewed = categorical_drift("prediction", reference, pd.Series(["a"] * 160 + ["b", "c"] * 20), LIMITS)
    assert skewed.status is DriftStatus.DRIFT
    new_class = categorical_drift("prediction", reference, pd.Series(["d"] * 200), LIMITS)
    assert new_class.status is DriftStatus.DRIFT
    empty = categorical_drift("prediction", reference, pd.Series([], dtype=object), LIMITS)
    assert empty.status is DriftStatus.NOT_ENOUGH_DATA


def test_compare_covers_every_feature_and_the_summary_names_the_drifted_ones() -> None:
    rng = np.random.default_rng(6)
    reference = pd.DataFrame(
        {"x": rng.normal(size=500), "y": rng.normal(size=500), "label": ["a", "b"] * 250}
    )
    window = pd.DataFrame(
        {"x": rng.normal(3.0, 1.0, size=500), "y": rng.normal(size=500), "pred": ["a", "b"] * 250}
    )
    results = compare(reference, window, [("x", "x"), ("y", "y")], [("label", "pred")], LIMITS)
    assert [(r.feature, r.status) for r in results] == [
        ("x", DriftStatus.DRIFT),
        ("y", DriftStatus.OK),
        ("pred", DriftStatus.OK),
    ]
    assert list(summary(results, "w", "3")["drifted"]) == ["x"]  # type: ignore[call-overload]


@pytest.mark.parametrize("env", list(Environment))
def test_the_monitor_takes_its_thresholds_from_its_parameters_in_every_environment(env: Environment) -> None:
    """No per-environment table in the wheel: the platform passes model.drift.* to the monitoring
    task (tests/stacks/test_access_invariants.py), and a local run without them gets the defaults."""
    unset = SimpleNamespace(params=TaskParameters(env=env))
    assert thresholds(unset) == DriftThresholds(  # type: ignore[arg-type]
        DECISION_DEFAULTS.drift_psi_threshold,
        DECISION_DEFAULTS.drift_p_value,
        DECISION_DEFAULTS.drift_min_rows,
    )
    passed = SimpleNamespace(params=TaskParameters(env=env, drift_psi_threshold=0.2, drift_min_rows=200))
    assert thresholds(passed) == DriftThresholds(0.2, DECISION_DEFAULTS.drift_p_value, 200)  # type: ignore[arg-type]
