"""Delta tables in a local folder (deltalake): opening one with damage named as such, and the local
backend's writes to them (MERGE, DELETE) under the home's per-table lock, with commit conflicts
retried."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.fs as pa_fs
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError

from ..errors import MissingStateError, StateError
from ..faults import TABLE_WRITTEN, checkpoint
from ..locks import table_write_lock
from ..logs import LOGGER_NAME

# Writers of one home take turns per table (locks.table_write_lock). A writer outside that lock
# (another home on the same folder, a notebook) can still conflict when both rewrite the same files;
# deltalake's own commit retries (CommitProperties.max_commit_retries) only retry what cannot
# conflict, so a conflicting merge is redone whole on a fresh snapshot, with jittered back-off.
COMMIT_ATTEMPTS = 6
COMMIT_BACKOFF_SECONDS = 0.05
# What rebuilds each table of a project (by its role, the suffix of project.Tables) when damaged:
# the advice in the error message.
TABLE_REMEDY = {
    "features": "delete that folder and run the training job (ingest rebuilds it from the data set)",
    "predictions": "delete that folder and run the batch-inference job (it rescores every row)",
    "deployments": "restore it from a backup (its history cannot be recomputed), or delete that "
    "folder to start a new history",
}
# A checkpoint every 10 commits, Delta Lake's own default (DeltaConfigs.scala CHECKPOINT_INTERVAL,
# delta-io/delta), which Databricks' tables follow; deltalake writes one only every 100 by default
# (measured with deltalake 1.6.6: first checkpoint at version 99). Opening a table reads its last
# checkpoint and the JSON commits after it: without one, a table written daily replays every
# commit since its creation, each open a little slower every day (at 30 commits, 9.5 ms per open
# against 1.7 ms after a checkpoint; the daily batch run opens its tables 5 times).
TABLE_PROPERTIES = {"delta.checkpointInterval": "10"}
_T = TypeVar("_T")
_logger = logging.getLogger(LOGGER_NAME)


@dataclass(frozen=True)
class LocalTable:
    """`catalog.schema.table` of a local home, kept in <home>/tables/catalog/schema/table."""

    home: Path
    name: str

    @property
    def path(self) -> Path:
        return self.home.joinpath("tables", *self.name.split("."))


@contextmanager
def readable(table: LocalTable) -> Iterator[None]:
    """Damaged table files (a deleted parquet file, a truncated commit) as one clear message."""
    try:
        yield
    except CommitFailedError:
        raise
    except (DeltaError, OSError, pa.ArrowException) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        short = table.name.rpartition(".")[2]
        roles = [role for role in TABLE_REMEDY if short.endswith(f"_{role}")]
        remedy = TABLE_REMEDY[roles[0]] if roles else "restore it from a backup"
        raise StateError(f"table {table.name} at {table.path} is damaged ({detail}): {remedy}") from error


def existing(table: LocalTable) -> DeltaTable:
    with readable(table):
        if not DeltaTable.is_deltatable(str(table.path)):
            raise MissingStateError(
                f"table {table.name} does not exist yet (looked in {table.path}): run ingest first"
            )
        return DeltaTable(str(table.path))


def arrow_filesystem(path: Path) -> pa_fs.FileSystem:
    """Arrow's own local filesystem, not deltalake's default: that default wraps a Python object
    (pyarrow.fs.PyFileSystem over deltalake.fs.DeltaStorageHandler, deltalake/table.py
    to_pyarrow_dataset), and in about a third of reads an Arrow pool thread, finishing the scan
    after to_table returned, drops its last reference. Releasing it takes the GIL; once the
    interpreter is finalising, CPython 3.11 ends such a thread with pthread_exit (take_gil),
    whose unwinding through that noexcept C++ destructor calls std::terminate: a job that
    exits right after its last read aborted with "terminate called without an active
    exception": python -m bench.exit_race forces that ordering."""
    return pa_fs.SubTreeFileSystem(str(path), pa_fs.LocalFileSystem())


def upsert(
    table: LocalTable,
    rows: pd.DataFrame,
    keys: Sequence[str],
    metadata: Mapping[str, str],
    pinned: Mapping[str, str],
) -> int:
    """Upsert `rows` on `keys` into `table`; its row count after it. `pinned`:
    columns whose value every row shares, as literals in the MERGE's condition, so deltalake skips
    the target's files that hold none of them (a scoring run's day and version: the merge then
    costs that day's files, not the history)."""
    data = pa.Table.from_pandas(rows, preserve_index=False)
    commit = CommitProperties(custom_metadata=dict(metadata))

    def attempt() -> int:
        target = created(table, data.schema, commit)
        literals = [f"target.{column} = '{value}'" for column, value in pinned.items()]
        predicate = " AND ".join([*literals, *(f"target.{key} = source.{key}" for key in keys)])
        merge = target.merge(data, predicate, "source", "target", commit_properties=commit)
        merge.when_matched_update_all().when_not_matched_insert_all().execute()
        return target.count()  # the merged version: execute() moved `target` to it

    with readable(table), table_write_lock(table.home, table.name):
        count = retry_commit_conflicts(attempt, table.name)
    checkpoint(TABLE_WRITTEN)
    return count


def created(table: LocalTable, schema: pa.Schema, commit: CommitProperties) -> DeltaTable:
    """The table, opened once for the write; created empty first if missing, so that its first
    write is the MERGE every later one is (as on Databricks, DatabricksBackend._merge). A table
    created before TABLE_PROPERTIES gets them (one commit, once)."""
    path = table.path
    if not DeltaTable.is_deltatable(str(path)):
        path.mkdir(parents=True, exist_ok=True)
        try:
            # write_deltalake, not DeltaTable.create: it stores pandas' nanosecond timestamps as
            # Delta's microsecond ones (create would need the timestampNanos reader feature).
            empty = schema.empty_table()
            write_deltalake(
                str(path), empty, mode="ignore", configuration=TABLE_PROPERTIES, commit_properties=commit
            )
        except DeltaError:
            if not DeltaTable.is_deltatable(str(path)):
                raise
            # another writer created it first: merge into theirs
    target = DeltaTable(str(path))
    configuration = target.metadata().configuration
    missing = {key: value for key, value in TABLE_PROPERTIES.items() if configuration.get(key) != value}
    if missing:
        target.alter.set_table_properties(missing, commit_properties=commit)
    return target


def delete_before(table: LocalTable, column: str, before: date, metadata: Mapping[str, str]) -> int:
    """Delete the rows whose date `column` is before `before`; how many were deleted."""
    path = table.path
    commit = CommitProperties(custom_metadata=dict(metadata))

    def attempt() -> int:
        if not DeltaTable.is_deltatable(str(path)):
            return 0
        predicate = f"{column} < '{before.isoformat()}'"
        deleted = DeltaTable(str(path)).delete(predicate, commit_properties=commit)
        return int(deleted.get("num_deleted_rows", 0))

    with readable(table), table_write_lock(table.home, table.name):
        count = retry_commit_conflicts(attempt, table.name)
    checkpoint(TABLE_WRITTEN)
    return count


def retry_commit_conflicts(action: Callable[[], _T], table: str) -> _T:
    """Run `action` again on a Delta commit conflict, at most COMMIT_ATTEMPTS times in all."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            return action()
        except CommitFailedError as error:
            if attempt == COMMIT_ATTEMPTS:
                raise StateError(
                    f"table {table}: {COMMIT_ATTEMPTS} commits in a row lost to concurrent writers "
                    f"({str(error).splitlines()[0]}); run the task again once they are done"
                ) from error
            pause = COMMIT_BACKOFF_SECONDS * 2 ** (attempt - 1) * (0.5 + random.random())  # noqa: S311
            _logger.info("table %s: commit conflict, retry %d in %.2f s", table, attempt, pause)
            time.sleep(pause)
    raise AssertionError("unreachable")
