"""The local backend's Delta writes cost the same every day (backends/local_delta.py): a table's
first write is the MERGE every later one is, and its log is checkpointed every 10 commits, so
opening it replays at most 10 commits however long it has been written to (issue 30: a daily job
costs one day of data, not its history)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from deltalake import DeltaTable, write_deltalake
from mlops_framework.backends.local import LocalBackend
from mlops_framework.backends.local_delta import TABLE_PROPERTIES

TABLE = "main.daily.bench_predictions"
INTERVAL = "delta.checkpointInterval"


def day(number: int) -> pd.DataFrame:
    return pd.DataFrame({"sample_id": [2 * number, 2 * number + 1], "score": [0.5, 0.25]})


def test_each_days_write_is_a_merge_and_the_log_is_checkpointed_every_ten_commits(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    counts = [backend.merge_rows(TABLE, day(number), ("sample_id",), {}) for number in range(12)]
    assert counts == [2 * (number + 1) for number in range(12)]
    table = DeltaTable(str(backend.table_path(TABLE)))
    operations = [entry["operation"] for entry in reversed(table.history())]
    # version 0 creates the table empty; every day's rows, the first day's too, go through MERGE
    assert operations == ["WRITE"] + ["MERGE"] * 12
    assert DeltaTable(str(backend.table_path(TABLE)), version=0).count() == 0
    assert table.metadata().configuration[INTERVAL] == "10"
    log = {path.name for path in (backend.table_path(TABLE) / "_delta_log").iterdir()}
    assert "00000000000000000009.checkpoint.parquet" in log  # deltalake's own default: version 99


def test_a_table_created_without_the_interval_gets_it_on_its_next_write(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    path = backend.table_path(TABLE)
    path.mkdir(parents=True)
    write_deltalake(str(path), day(0), mode="append")
    assert INTERVAL not in DeltaTable(str(path)).metadata().configuration
    assert backend.merge_rows(TABLE, day(1), ("sample_id",), {}) == 4
    assert DeltaTable(str(path)).metadata().configuration[INTERVAL] == TABLE_PROPERTIES[INTERVAL]
