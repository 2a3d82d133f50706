"""The monitor reads its window only (issue 30): a day's read never opens another day's files, and
drift computed from bounded summaries (window_stats.py) decides as the exact computation does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.backends.local import LocalBackend
from mlops_framework.drift import DriftThresholds, compare
from mlops_framework.errors import MissingStateError, StateError
from mlops_framework.scoring import prediction_rows
from mlops_framework.vocabulary import SCORED_AT_COLUMN
from mlops_framework.window_stats import (
    QUANTILE_POINTS,
    ReferenceProfile,
    compare_summaries,
    reference_profile,
    summarize_frame,
)

TABLE = "main.window.iris_predictions"
FIRST_DAY = datetime(2031, 3, 1, 4, tzinfo=UTC)
DAY = timedelta(days=1)


def scored_day(day: int, rows: int = 40) -> pd.DataFrame:
    """One batch inference run's rows, `day` days after the first."""
    generator = np.random.default_rng(day)
    samples = pd.DataFrame(
        generator.normal(4, 1, (rows, len(IRIS.feature_columns))), columns=list(IRIS.feature_columns)
    )
    samples[IRIS.key_column] = np.arange(rows)
    return prediction_rows(IRIS, samples, ["setosa"] * rows, "1", FIRST_DAY + day * DAY)


def test_a_days_read_opens_only_that_days_files(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    files_by_day = []
    for day in range(3):  # each day's run appends its own files (what batch inference does)
        before = set(DeltaTable(str(backend.table_path(TABLE))).file_uris()) if day else set()
        backend.merge_rows(TABLE, scored_day(day), IRIS.prediction_keys, {})
        files_by_day.append(set(DeltaTable(str(backend.table_path(TABLE))).file_uris()) - before)
    # Every file of the other days is made unreadable: a read that opens one fails.
    for path in files_by_day[0] | files_by_day[2]:
        Path(path).write_bytes(b"not parquet")
    with pytest.raises(StateError, match="is damaged"):
        backend.read_table(TABLE)  # load-then-filter, what the monitor did before
    start = (FIRST_DAY + DAY).replace(hour=0)
    columns = [*IRIS.feature_columns, SCORED_AT_COLUMN]
    window = backend.read_window(TABLE, SCORED_AT_COLUMN, start, start + DAY, columns)
    expected = scored_day(1)
    assert list(window.columns) == columns
    features = list(IRIS.feature_columns)
    pd.testing.assert_frame_equal(window[features], expected[features])
    empty = backend.read_window(TABLE, SCORED_AT_COLUMN, start + 5 * DAY, start + 6 * DAY, columns)
    assert empty.empty


def test_a_window_of_a_missing_table_is_missing_state(tmp_path: Path) -> None:
    with pytest.raises(MissingStateError):
        LocalBackend(tmp_path).read_window(TABLE, SCORED_AT_COLUMN, FIRST_DAY, FIRST_DAY + DAY, ["x"])


# ------------------------------------------------------------- drift from summaries vs exact

LIMITS = DriftThresholds(psi=0.2, p_value=0.01, min_rows=50)
# How far a KS D read off two quantile grids may be from the exact one (window_stats' docstring).
KS_GRID_ERROR = 2 / (QUANTILE_POINTS - 1)


def drifting_pair(rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a window: one feature unchanged, one barely moved (tested, not drifted),
    one drifted, one on a coarse grid of ties, and the class column drifted."""
    generator = np.random.default_rng(30)

    def side(shift: float, heavy: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "same": generator.normal(0, 1, rows),
                "barely": generator.normal(0.05 * shift, 1, rows),
                "moved": generator.lognormal(shift, 1, rows),
                "ties": np.round(generator.normal(shift, 1, rows), 1),
                "label": generator.choice(["a", "b", "c"], rows, p=[1 - 2 * heavy, heavy, heavy]),
            }
        )

    return side(0.0, 0.2), side(1.0, 0.05).rename(columns={"label": "prediction"})


def test_summaries_give_the_exact_decisions_psi_and_ks_within_its_grid() -> None:
    reference, window = drifting_pair(20_000)
    numeric = [(name, name) for name in ("same", "barely", "moved", "ties")]
    categorical = [("label", "prediction")]
    exact = compare(reference, window, numeric, categorical, LIMITS)
    profile = ReferenceProfile.from_dict(reference_profile(reference, numeric, categorical).to_dict())
    summarised = compare_summaries(profile, summarize_frame(window, profile.edges, ["prediction"]), LIMITS)
    assert [r.status for r in summarised] == [r.status for r in exact]
    assert {r.feature: r.drifted for r in exact} == {
        "same": False,
        "barely": False,
        "moved": True,
        "ties": True,
        "prediction": True,
    }
    for approx, truth in zip(summarised, exact, strict=True):
        assert (approx.reference_rows, approx.window_rows) == (truth.reference_rows, truth.window_rows)
        assert approx.psi == pytest.approx(truth.psi, rel=1e-12)  # the same bin counts
        tolerance = KS_GRID_ERROR if truth.kind == "numeric" else 1e-9
        assert abs((approx.statistic or 0) - (truth.statistic or 0)) <= tolerance, approx.feature
