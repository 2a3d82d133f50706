"""Incremental batch inference on the local backend: a run scores what its champion has not scored."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable
from iris_mlops.data import FEATURE_COLUMNS, KEY_COLUMN, load_iris_frame
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.backends import select_backend
from mlops_framework.backends.local import LocalBackend
from mlops_framework.context import TaskContext
from mlops_framework.errors import StateError
from mlops_framework.incremental import (
    ScoredBatch,
    last_watermark,
    require_watermark_column,
    stamp_updates,
    watermark_row,
)
from mlops_framework.params import TaskParameters
from mlops_framework.steps.batch_inference import batch_inference
from mlops_framework.vocabulary import SCORED_ON_COLUMN, UPDATED_AT_COLUMN, VERSION_COLUMN, Rescore

DAY_ONE = datetime(2031, 3, 1, 9, tzinfo=UTC)


def arrive(ctx: TaskContext, rows: pd.DataFrame, now: datetime) -> None:
    """Rows written into the project's feature table as ingest writes them (stamped if new or changed)."""
    backend = ctx.backend
    table = ctx.table(ctx.project.tables.features)
    existing = (
        backend.read_table(table) if isinstance(backend, LocalBackend) and _exists(backend, table) else None
    )
    stamped = stamp_updates(rows, existing, KEY_COLUMN, now)
    backend.merge_rows(table, stamped, (KEY_COLUMN,), {})


def _exists(backend: LocalBackend, table: str) -> bool:
    return (backend.table_path(table) / "_delta_log").is_dir()


def scored_count(said: str) -> int:
    return int(said.split()[1])


def project_named(prefix: str) -> TaskContext:
    tables = replace(
        IRIS.tables,
        features=f"{prefix}_features",
        predictions=f"{prefix}_predictions",
        watermarks=f"{prefix}_watermarks",
    )
    project = replace(IRIS, tables=tables, predictions_retention_days=3)
    return TaskContext.create("batch-inference", TaskParameters(), select_backend(), project)


def test_a_daily_run_scores_only_new_and_changed_rows_and_a_rerun_scores_none(trained: Path) -> None:
    ctx = project_named("daily")
    backend = ctx.backend
    assert isinstance(backend, LocalBackend)
    iris = load_iris_frame()
    arrive(ctx, iris, DAY_ONE - timedelta(hours=6))
    assert scored_count(batch_inference(ctx, now=DAY_ONE)) == 150  # the champion's first run: every row

    # Day two: 10 rows measured again (changed), 20 new flowers, the other 140 as they were.
    changed = iris.assign(**{FEATURE_COLUMNS[0]: iris[FEATURE_COLUMNS[0]].where(iris.index >= 10, 9.9)})
    new = iris.head(20).assign(**{KEY_COLUMN: range(1_000, 1_020)})
    arrive(ctx, pd.concat([changed, new], ignore_index=True), DAY_ONE + timedelta(hours=18))
    said = batch_inference(ctx, now=DAY_ONE + timedelta(days=1))
    assert scored_count(said) == 30, said
    # The MERGE names the run's day and version: day one's file is skipped, not scanned for keys.
    merged = DeltaTable(str(backend.table_path(ctx.table(ctx.project.tables.predictions)))).history(1)[0]
    assert merged["operation"] == "MERGE"
    assert merged["operationMetrics"]["num_target_files_scanned"] == 0
    assert "rows changed after 2031-03-01 03:00:00Z" in said
    rerun = batch_inference(ctx, now=DAY_ONE + timedelta(days=1, hours=5))
    assert scored_count(rerun) == 0, rerun
    predictions = ctx.backend.read_table(ctx.table(ctx.project.tables.predictions))
    per_day = predictions.groupby(SCORED_ON_COLUMN)[KEY_COLUMN].apply(set).to_dict()
    assert per_day[date(2031, 3, 2)] == set(range(10)) | set(range(1_000, 1_020))
    assert len(predictions) == 180
    assert not predictions.duplicated([KEY_COLUMN, VERSION_COLUMN, SCORED_ON_COLUMN]).any()

    # rescore=all: every row, whatever was scored; retention (3 days) deletes day one at day four.
    everything = replace(ctx, params=replace(ctx.params, rescore=Rescore.ALL))
    assert scored_count(batch_inference(everything, now=DAY_ONE + timedelta(days=2))) == 170
    said = batch_inference(ctx, now=DAY_ONE + timedelta(days=3))
    assert scored_count(said) == 0
    assert "deleted 150 rows scored before 2031-03-02" in said


def test_two_runs_at_once_score_the_same_rows_once(trained: Path) -> None:
    ctx = project_named("concurrent")
    arrive(ctx, load_iris_frame(), DAY_ONE - timedelta(hours=6))
    with ThreadPoolExecutor(2) as pool:
        said = list(pool.map(lambda _: batch_inference(ctx, now=DAY_ONE), range(2)))
    assert all(scored_count(each) in {0, 150} for each in said), said
    predictions = ctx.backend.read_table(ctx.table(ctx.project.tables.predictions))
    assert len(predictions) == 150
    assert not predictions.duplicated([KEY_COLUMN, VERSION_COLUMN, SCORED_ON_COLUMN]).any()
    assert scored_count(batch_inference(ctx, now=DAY_ONE + timedelta(hours=1))) == 0


def test_the_read_opens_only_files_stamped_after_the_watermark(trained: Path) -> None:
    """The filter is in the read, not after it: files of earlier days are pruned from the log."""
    ctx = project_named("pruned")
    backend = ctx.backend
    assert isinstance(backend, LocalBackend)
    table = ctx.table(ctx.project.tables.features)
    iris = load_iris_frame()
    for day in range(4):  # one append (one file) a day, each stamped its day
        rows = iris.assign(**{KEY_COLUMN: iris[KEY_COLUMN] + 1_000 * day})
        arrive(ctx, rows, DAY_ONE + timedelta(days=day))
    since = DAY_ONE + timedelta(days=2)
    opened: list[int] = []
    real = DeltaTable.to_pyarrow_dataset

    def counting(self: object, *args: object, **kwargs: object) -> object:
        dataset = real(self, *args, **kwargs)  # type: ignore[arg-type]
        opened.append(len(dataset.files))
        return dataset

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DeltaTable, "to_pyarrow_dataset", counting)
        rows = backend.read_changed(table, since)
    assert len(rows) == 150
    assert set(rows[KEY_COLUMN] // 1_000) == {3}
    # Of the four days' files: the new day's, and the one whose newest stamp is the watermark itself
    # (Delta's timestamp statistics are truncated to milliseconds, so pruning keeps that boundary).
    assert opened == [2]


def test_a_feature_table_without_the_watermark_column_is_named() -> None:
    with pytest.raises(StateError, match=r"has no updated_at column.*rescore=all"):
        require_watermark_column("main.iris.old_features", ["sample_id", "sepal_length_cm"])


def test_a_new_champion_has_no_watermark_and_unchanged_rows_keep_their_stamp() -> None:
    ran = watermark_row("1", ScoredBatch(150, DAY_ONE), DAY_ONE)
    assert last_watermark(ran, "1") == DAY_ONE
    assert last_watermark(ran, "2") is None  # the champion changed: every row
    later = pd.concat([ran, watermark_row("2", ScoredBatch(3, DAY_ONE), DAY_ONE + timedelta(days=1))])
    assert last_watermark(later, "1") is None  # back to v1 after v2: every row again
    assert last_watermark(None, "1") is None
    # Spark's toPandas drops the zone of timestamps (session time): the microseconds are read.
    naive = ran.assign(
        **{
            column: ran[column].dt.tz_localize(None) + pd.Timedelta(hours=14)
            for column in ("scored_through", "scored_at")
        }
    )
    assert last_watermark(naive, "1") == DAY_ONE

    rows = load_iris_frame().head(3)
    first = stamp_updates(rows, None, KEY_COLUMN, DAY_ONE)
    again = stamp_updates(
        rows.assign(species=["setosa", "setosa", "virginica"]), first, KEY_COLUMN, DAY_ONE + timedelta(days=1)
    )
    assert again[UPDATED_AT_COLUMN].tolist() == [pd.Timestamp(DAY_ONE)] * 2 + [
        pd.Timestamp(DAY_ONE + timedelta(days=1))
    ]
