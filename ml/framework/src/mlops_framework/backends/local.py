"""Local backend: MLflow on SQLite and Delta tables via `deltalake`, all under one home folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pa_dataset
from deltalake import DeltaTable
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pyarrow import dataset

from ..backends import local_delta
from ..backends.local_delta import LocalTable, arrow_filesystem, existing, readable
from ..errors import MissingStateError
from ..incremental import ScoredBatch, require_watermark_column
from ..project import ProjectSpec
from ..scoring import prediction_rows, run_values
from ..store import check_home, ensure_store
from ..vocabulary import UPDATED_AT_COLUMN
from ..window_stats import Summary, WindowRequest, summarize_frame

HOME_ENV_VAR = "MLOPS_HOME"
DEFAULT_HOME = Path(".local")


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
        return LocalTable(self.home, table).path

    def _existing(self, table: str) -> DeltaTable:
        return existing(LocalTable(self.home, table))

    def read_table(self, table: str) -> pd.DataFrame:
        table_ = self._existing(table)
        with readable(LocalTable(self.home, table)):
            return table_.to_pandas(filesystem=arrow_filesystem(self.table_path(table)))

    def read_window(
        self, table: str, column: str, start: datetime, end: datetime, columns: Sequence[str]
    ) -> pd.DataFrame:
        """Delta's per-file min/max statistics drop the files outside [start, end) before any is
        opened (`file_pruning_predicate`, deltalake `DeltaTable.file_uris`); the rows are then
        filtered in the parquet scan (pyarrow row-group statistics, then rows)."""
        inside = [(column, ">=", start), (column, "<", end)]
        table_ = self._existing(table)
        with readable(LocalTable(self.home, table)):
            data = table_.to_pyarrow_dataset(
                file_pruning_predicate=inside, filesystem=arrow_filesystem(self.table_path(table))
            )
            rows = data.to_table(
                columns=list(columns), filter=(dataset.field(column) >= start) & (dataset.field(column) < end)
            )
            return rows.to_pandas()

    def count_rows(self, table: str) -> int:
        table_ = self._existing(table)
        with readable(LocalTable(self.home, table)):
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
        return local_delta.upsert(LocalTable(self.home, table), rows, keys, metadata, pinned)

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
        with readable(LocalTable(self.home, table)):
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
        return local_delta.delete_before(LocalTable(self.home, table), column, before, metadata)

    def publish_endpoint(
        self, endpoint_name: str, model_name: str, model_version: str, timeout: timedelta
    ) -> str:
        # Nothing is pushed locally: a running `<project>-mlops serve` follows the alias (serving.py).
        return (
            f"{model_name}@champion is v{model_version}; a running `serve` for {endpoint_name} "
            f"switches to it at its next alias check (response header X-Model-Version says which answered)"
        )
