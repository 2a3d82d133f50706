"""What every step receives: its parameters, the backend, and MLflow set up for that backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from iris_mlops.backends import Backend
from iris_mlops.params import TaskParameters
from iris_mlops.provenance import provenance_tags

CHALLENGER = "challenger"
CHAMPION = "champion"


def experiment_name(params: TaskParameters) -> str:
    """The `experiment_name` parameter (the platform's, created by Pulumi), else one experiment
    per environment under `/Shared`, which exists in every Databricks workspace."""
    return params.resolved_experiment_name


def logged_model_id(version: ModelVersion) -> str | None:
    """The LoggedModel behind a version; the SQLite registry leaves `model_id` empty but keeps
    the `models:/<model_id>` source it was registered from."""
    if version.model_id:
        return str(version.model_id)
    source = str(version.source or "")
    return source.removeprefix("models:/") if source.startswith("models:/m-") else None


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version as the steps need it; `version` is always a string (stores differ)."""

    version: str
    model_id: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskContext:
    task: str
    params: TaskParameters
    backend: Backend
    client: MlflowClient

    @classmethod
    def create(cls, task: str, params: TaskParameters, backend: Backend) -> TaskContext:
        backend.configure_mlflow()
        return cls(task=task, params=params, backend=backend, client=MlflowClient())

    def table(self, short_name: str) -> str:
        return f"{self.params.catalog}.{self.params.schema}.{short_name}"

    @property
    def model_name(self) -> str:
        """Three-level Unity Catalog name, used as is by the local registry too."""
        return self.table(self.params.model_name)

    @property
    def provenance(self) -> dict[str, str]:
        return provenance_tags(self.task, str(self.params.env), self.backend.name)

    def alias_version(self, alias: str) -> RegisteredVersion | None:
        try:
            found = self.client.get_model_version_by_alias(self.model_name, alias)
        except MlflowException as error:
            if error.error_code in {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}:
                return None
            raise
        return RegisteredVersion(str(found.version), logged_model_id(found), dict(found.tags))

    def model_uri(self, version: RegisteredVersion) -> str:
        return f"models:/{self.model_name}/{version.version}"

    @contextmanager
    def run(self) -> Iterator[mlflow.ActiveRun]:
        """An MLflow run for this task, tagged with its provenance."""
        name = experiment_name(self.params)
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            experiment_id = self.client.create_experiment(
                name, artifact_location=self.backend.experiment_artifact_location()
            )
        else:
            experiment_id = experiment.experiment_id
        with mlflow.start_run(experiment_id=experiment_id, run_name=self.task, tags=self.provenance) as run:
            yield run
