"""Local backend: MLflow on SQLite and Delta tables via `deltalake`, all under one home folder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import mlflow
import pandas as pd
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake

from iris_mlops.data import features_of
from iris_mlops.errors import MissingStateError
from iris_mlops.scoring import PREDICTION_KEYS, prediction_rows

HOME_ENV_VAR = "IRIS_MLOPS_HOME"
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

    def configure_mlflow(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)

    def experiment_artifact_location(self) -> str | None:
        return (self.home / "artifacts").as_uri()

    def table_path(self, table: str) -> Path:
        """`catalog.schema.table` -> <home>/tables/catalog/schema/table."""
        return self.home.joinpath("tables", *table.split("."))

    def _existing(self, table: str) -> DeltaTable:
        path = self.table_path(table)
        if not DeltaTable.is_deltatable(str(path)):
            raise MissingStateError(f"table {table} does not exist yet (looked in {path}): run ingest first")
        return DeltaTable(str(path))

    def read_table(self, table: str) -> pd.DataFrame:
        return self._existing(table).to_pandas()

    def merge_rows(
        self, table: str, rows: pd.DataFrame, keys: Sequence[str], metadata: Mapping[str, str]
    ) -> int:
        path = self.table_path(table)
        data = pa.Table.from_pandas(rows, preserve_index=False)
        commit = CommitProperties(custom_metadata=dict(metadata))
        if not DeltaTable.is_deltatable(str(path)):
            path.mkdir(parents=True, exist_ok=True)
            write_deltalake(str(path), data, mode="error", commit_properties=commit)
        else:
            predicate = " AND ".join(f"target.{key} = source.{key}" for key in keys)
            (
                DeltaTable(str(path))
                .merge(data, predicate, "source", "target", commit_properties=commit)
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        return DeltaTable(str(path)).count()

    def score_table(
        self, model_uri: str, model_version: str, source: str, target: str, metadata: Mapping[str, str]
    ) -> int:
        samples = self.read_table(source)
        model = mlflow.pyfunc.load_model(model_uri)
        rows = prediction_rows(samples, model.predict(features_of(samples)), model_version)
        self.merge_rows(target, rows, PREDICTION_KEYS, metadata)
        return len(rows)

    def publish_endpoint(self, endpoint_name: str, model_name: str, model_version: str) -> str:
        # Nothing runs between deploys locally: `iris-mlops serve` loads the champion when started.
        return f"local endpoint {endpoint_name} serves {model_name}@champion (v{model_version})"
