"""The monitor reads its window only (issue 30): a day's read never opens another day's files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable
from iris_mlops.backends.local import LocalBackend
from iris_mlops.errors import MissingStateError, StateError
from iris_mlops.iris_project import IRIS
from iris_mlops.scoring import prediction_rows
from iris_mlops.vocabulary import SCORED_AT_COLUMN

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
