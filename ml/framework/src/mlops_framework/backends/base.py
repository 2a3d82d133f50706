"""What a backend does for the steps, so the steps never ask where they run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd
from mlflow import MlflowClient

from ..incremental import ScoredBatch
from ..project import ProjectSpec
from ..window_stats import Summary, WindowRequest


class Backend(Protocol):
    name: str

    def configure_mlflow(self) -> None:
        """Point MLflow tracking and the model registry at this backend's stores."""

    def now(self) -> datetime:
        """The time the steps record and window by (scored_at, drift windows, deployed_at): the
        wall clock in UTC; a simulation of weeks gives its own."""

    def experiment_artifact_location(self) -> str | None:
        """Where a new experiment keeps artifacts (None: the tracking server decides)."""

    def ensure_registered_model(self, client: MlflowClient, name: str) -> None:
        """Make sure the registered model exists before a version is created in it."""

    def read_table(self, table: str) -> pd.DataFrame:
        """Read a whole `catalog.schema.table` (small tables only)."""

    def read_window(
        self, table: str, column: str, start: datetime, end: datetime, columns: Sequence[str]
    ) -> pd.DataFrame:
        """`columns` of the rows whose timestamp `column` is in [start, end), the filter pushed into
        the read (files and row groups outside the window are never read); a missing table raises
        MissingStateError."""

    def count_rows(self, table: str) -> int:
        """The table's row count from its Delta log's file statistics, no data read."""

    def scored_window(
        self, tables: Sequence[str], column: str, start: datetime, end: datetime, request: WindowRequest
    ) -> pd.DataFrame | Summary:
        """The rows of `tables` in [start, end) of `column` (each read as `read_window` does; a
        missing table adds none): `request.columns` of them if `request.wants_rows(count)`, else
        their drift Summary, computed where the rows are (window_stats.py)."""

    def merge_rows(
        self, table: str, rows: pd.DataFrame, keys: Sequence[str], metadata: Mapping[str, str]
    ) -> int:
        """Upsert rows on `keys` (create the table if missing); return the table's row count."""

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
        """Score `source` (the project's features) with the model into `target` (its inference
        table) as the scoring run at `scored_at` (now if None): rows keyed by
        `project.prediction_keys`, so a run on another UTC day appends; return how many rows
        were scored."""

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
        """Score the rows of `source` whose `updated_at` is after `since` (every row when None)
        like `score_table`, reading only those (the filter is pushed into the read); return how
        many were scored and the newest `updated_at` among them (incremental.py)."""

    def delete_before(self, table: str, column: str, before: date, metadata: Mapping[str, str]) -> int:
        """Delete the rows whose date `column` is before `before` (a missing table: none); return
        how many were deleted."""

    def publish_endpoint(
        self, endpoint_name: str, model_name: str, model_version: str, timeout: timedelta
    ) -> str:
        """Make the serving endpoint serve this model version, waiting at most `timeout` for it;
        return what changed. Raises ServingError unless it serves the version afterwards."""


@runtime_checkable
class LocalState(Protocol):
    """A backend whose state lives in a folder of this machine (the local one): only there can a
    process lock a model's training or tell that a run's process is gone."""

    home: Path
