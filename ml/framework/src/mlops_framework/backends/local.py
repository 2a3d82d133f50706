"""Local backend: MLflow on SQLite and Delta tables via `deltalake`, all under one home folder."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pa_dataset
import pyarrow.fs as pa_fs
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pyarrow import dataset

from ..errors import MissingStateError, StateError
from ..faults import TABLE_WRITTEN, checkpoint
from ..incremental import ScoredBatch, require_watermark_column
from ..locks import table_write_lock
from ..logs import LOGGER_NAME
from ..project import ProjectSpec
from ..scoring import prediction_rows, run_values
from ..store import check_home, ensure_store
from ..vocabulary import UPDATED_AT_COLUMN
from ..window_stats import Summary, WindowRequest, summarize_frame

HOME_ENV_VAR = "MLOPS_HOME"
DEFAULT_HOME = Path(".local")
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
_T = TypeVar("_T")
_logger = logging.getLogger(LOGGER_NAME)


class LocalBackend:
    name = "local"

    def __init__(self, home: Path) -> None:
        self.home = home.resolve()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> LocalBackend:
        return cls(Path(environ.get(HOME_ENV_VAR) or DEFAULT_HOME))

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.home / 'mlflow.db'}"

    def now(self) -> datetime:
        return datetime.now(UTC)

    def configure_mlflow(self) -> None:
        check_home(self.home, HOME_ENV_VAR)
        ensure_store(self.home, str(self.experiment_artifact_location()))
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)

    def experiment_artifact_location(self) -> str | None:
        return (self.home / "artifacts").as_uri()

    def ensure_registered_model(self, client: MlflowClient, name: str) -> None:
        """Locally nothing else creates the model (on Databricks, Pulumi does)."""
        try:
            client.get_registered_model(name)
        except MlflowException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            client.create_registered_model(name)

    def table_path(self, table: str) -> Path:
        """`catalog.schema.table` -> <home>/tables/catalog/schema/table."""
        return self.home.joinpath("tables", *table.split("."))

    @contextmanager
    def _readable(self, table: str) -> Iterator[None]:
        """Damaged table files (a deleted parquet file, a truncated commit) as one clear message."""
        path = self.table_path(table)
        try:
            yield
        except CommitFailedError:
            raise
        except (DeltaError, OSError, pa.ArrowException) as error:
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            short = table.rpartition(".")[2]
            roles = [role for role in TABLE_REMEDY if short.endswith(f"_{role}")]
            remedy = TABLE_REMEDY[roles[0]] if roles else "restore it from a backup"
            raise StateError(f"table {table} at {path} is damaged ({detail}): {remedy}") from error

    def _existing(self, table: str) -> DeltaTable:
        path = self.table_path(table)
        with self._readable(table):
            if not DeltaTable.is_deltatable(str(path)):
                raise MissingStateError(
                    f"table {table} does not exist yet (looked in {path}): run ingest first"
                )
            return DeltaTable(str(path))

    def read_table(self, table: str) -> pd.DataFrame:
        table_ = self._existing(table)
        with self._readable(table):
            return table_.to_pandas(filesystem=self._arrow_filesystem(table))

    def _arrow_filesystem(self, table: str) -> pa_fs.FileSystem:
        """Arrow's own local filesystem, not deltalake's default: that default wraps a Python object
        (pyarrow.fs.PyFileSystem over deltalake.fs.DeltaStorageHandler, deltalake/table.py
        to_pyarrow_dataset), and in about a third of reads an Arrow pool thread, finishing the scan
        after to_table returned, drops its last reference. Releasing it takes the GIL; once the
        interpreter is finalising, CPython 3.11 ends such a thread with pthread_exit (take_gil),
        whose unwinding through that noexcept C++ destructor calls std::terminate: a job that
        exits right after its last read aborted with "terminate called without an active
        exception": python -m bench.exit_race forces that ordering."""
        return pa_fs.SubTreeFileSystem(str(self.table_path(table)), pa_fs.LocalFileSystem())

    def read_window(
        self, table: str, column: str, start: datetime, end: datetime, columns: Sequence[str]
    ) -> pd.DataFrame:
        """Delta's per-file min/max statistics drop the files outside [start, end) before any is
        opened (`file_pruning_predicate`, deltalake `DeltaTable.file_uris`); the rows are then
        filtered in the parquet scan (pyarrow row-group statistics, then rows)."""
        inside = [(column, ">=", start), (column, "<", end)]
        table_ = self._existing(table)
        with self._readable(table):
            data = table_.to_pyarrow_dataset(
                file_pruning_predicate=inside, filesystem=self._arrow_filesystem(table)
            )
            rows = data.to_table(
                columns=list(columns), filter=(dataset.field(column) >= start) & (dataset.field(column) < end)
            )
            return rows.to_pandas()

    def count_rows(self, table: str) -> int:
        table_ = self._existing(table)
        with self._readable(table):
            return table_.count()  # the add actions' num_records (deltalake DeltaTable.count)

    def scored_window(
        self, tables: Sequence[str], column: str, start: datetime, end: datetime, request: WindowRequest
    ) -> pd.DataFrame | Summary:
        frames = []
        for table in tables:
            try:
                frames.append(self.read_window(table, column, start, end, request.columns))
            except MissingStateError:
                continue
        rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=request.columns)
        if request.wants_rows(len(rows)):
            return rows
        return summarize_frame(rows, request.edges, request.classes)

    def merge_rows(
        self, table: str, rows: pd.DataFrame, keys: Sequence[str], metadata: Mapping[str, str]
    ) -> int:
        return self._upsert(table, rows, keys, metadata, pinned={})

    def _upsert(
        self,
        table: str,
        rows: pd.DataFrame,
        keys: Sequence[str],
        metadata: Mapping[str, str],
        pinned: Mapping[str, str],
    ) -> int:
        """`merge_rows`; `pinned`: columns whose value every row shares, as literals in the MERGE's
        condition, so deltalake skips the target's files that hold none of them (a scoring run's
        day and version: the merge then costs that day's files, not the history)."""
        path = self.table_path(table)
        data = pa.Table.from_pandas(rows, preserve_index=False)
        commit = CommitProperties(custom_metadata=dict(metadata))

        def upsert() -> int:
            if not DeltaTable.is_deltatable(str(path)):
                path.mkdir(parents=True, exist_ok=True)
                try:
                    write_deltalake(str(path), data, mode="error", commit_properties=commit)
                    return DeltaTable(str(path)).count()
                except DeltaError:
                    if not DeltaTable.is_deltatable(str(path)):
                        raise
                    # another writer created it first: merge into theirs
            literals = [f"target.{column} = '{value}'" for column, value in pinned.items()]
            predicate = " AND ".join([*literals, *(f"target.{key} = source.{key}" for key in keys)])
            (
                DeltaTable(str(path))
                .merge(data, predicate, "source", "target", commit_properties=commit)
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
            return DeltaTable(str(path)).count()

        with self._readable(table), table_write_lock(self.home, table):
            count = retry_commit_conflicts(upsert, table)
        checkpoint(TABLE_WRITTEN)
        return count

    def score_table(
        self,
        model_uri: str,
        model_version: str,
        source: str,
        target: str,
        metadata: Mapping[str, str],
        *,
        project: ProjectSpec,
        scored_at: datetime | None = None,
    ) -> int:
        samples = self.read_table(source)
        return self._score(
            model_uri,
            model_version,
            samples,
            target=target,
            metadata=metadata,
            project=project,
            scored_at=scored_at,
        )

    def _score(
        self,
        model_uri: str,
        model_version: str,
        samples: pd.DataFrame,
        *,
        target: str,
        metadata: Mapping[str, str],
        project: ProjectSpec,
        scored_at: datetime | None,
    ) -> int:
        model = mlflow.pyfunc.load_model(model_uri)
        predicted = model.predict(project.features_of(samples))
        rows = prediction_rows(project, samples, predicted, model_version, scored_at)
        pinned = {column: str(value) for column, value in run_values(rows).items()}
        self._upsert(target, rows, project.prediction_keys, metadata, pinned)
        return len(rows)

    def score_changed(
        self,
        model_uri: str,
        model_version: str,
        source: str,
        target: str,
        metadata: Mapping[str, str],
        *,
        project: ProjectSpec,
        scored_at: datetime,
        since: datetime | None,
    ) -> ScoredBatch:
        samples = self.read_changed(source, since)
        if samples.empty:
            return ScoredBatch(0, None)
        through = pd.Timestamp(samples[UPDATED_AT_COLUMN].max()).to_pydatetime()
        scored = self._score(
            model_uri,
            model_version,
            samples,
            target=target,
            metadata=metadata,
            project=project,
            scored_at=scored_at,
        )
        return ScoredBatch(scored, through)

    def read_changed(self, table: str, since: datetime | None) -> pd.DataFrame:
        """The rows of `table` stamped after `since` (all when None). Files whose `updated_at`
        statistics end at or before `since` are pruned while the log is replayed, before any is
        opened (deltalake `file_pruning_predicate`); the rest are filtered exactly."""
        table_ = self._existing(table)
        with self._readable(table):
            require_watermark_column(table, list(table_.schema().to_arrow().names))
            if since is None:
                return table_.to_pandas()
            after = pd.Timestamp(since).tz_convert("UTC")
            pruned = table_.to_pyarrow_dataset(
                file_pruning_predicate=f"{UPDATED_AT_COLUMN} > '{after.isoformat()}'"
            )
            exact = pa_dataset.field(UPDATED_AT_COLUMN) > pa.scalar(
                after.to_pydatetime(), pa.timestamp("us", "UTC")
            )
            return pruned.to_table(filter=exact).to_pandas()

    def delete_before(self, table: str, column: str, before: date, metadata: Mapping[str, str]) -> int:
        path = self.table_path(table)
        commit = CommitProperties(custom_metadata=dict(metadata))

        def delete() -> int:
            if not DeltaTable.is_deltatable(str(path)):
                return 0
            predicate = f"{column} < '{before.isoformat()}'"
            deleted = DeltaTable(str(path)).delete(predicate, commit_properties=commit)
            return int(deleted.get("num_deleted_rows", 0))

        with self._readable(table), table_write_lock(self.home, table):
            count = retry_commit_conflicts(delete, table)
        checkpoint(TABLE_WRITTEN)
        return count

    def publish_endpoint(
        self, endpoint_name: str, model_name: str, model_version: str, timeout: timedelta
    ) -> str:
        # Nothing is pushed locally: a running `<project>-mlops serve` follows the alias (serving.py).
        return (
            f"{model_name}@champion is v{model_version}; a running `serve` for {endpoint_name} "
            f"switches to it at its next alias check (response header X-Model-Version says which answered)"
        )


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
