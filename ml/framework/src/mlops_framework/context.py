"""What every step receives: its parameters, the backend, and MLflow set up for that backend."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel

from .backends import Backend
from .backends.base import LocalState
from .errors import StateError
from .faults import RUN_STARTED, checkpoint
from .locks import training_lock
from .logs import LOGGER_NAME
from .model_trust import verified_model_folder
from .params import TaskParameters
from .project import ProjectSpec
from .provenance import provenance_tags
from .recovery import close_interrupted_runs, process_identity

_logger = logging.getLogger(LOGGER_NAME)


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
    # Everything project-specific the generic steps read (project.py); Iris's unless given.
    project: ProjectSpec

    @classmethod
    def create(cls, task: str, params: TaskParameters, backend: Backend, project: ProjectSpec) -> TaskContext:
        backend.configure_mlflow()
        return cls(task=task, params=params, backend=backend, client=MlflowClient(), project=project)

    def now(self) -> datetime:
        """The backend's time, in UTC (Backend.now)."""
        return self.backend.now()

    def table(self, short_name: str) -> str:
        return f"{self.params.catalog}.{self.params.schema}.{short_name}"

    @property
    def model_name(self) -> str:
        """Three-level Unity Catalog name, used as is by the local registry too."""
        return self.table(self.params.model_name)

    @property
    def provenance(self) -> dict[str, str]:
        return provenance_tags(
            self.project.tags, self.task, str(self.params.env), self.backend.name, self.project.version
        )

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

    def model_files(self, version: RegisteredVersion) -> Path | None:
        """The local folder holding the version's model files (None: not a local file store)."""
        if version.model_id is None:
            return None
        location = urlparse(str(self.client.get_logged_model(version.model_id).artifact_location))
        return Path(url2pathname(location.path)) if location.scheme == "file" else None

    def model_files_missing(self, version: RegisteredVersion) -> Path | None:
        files = self.model_files(version)
        return files if files is not None and not (files / "MLmodel").is_file() else None

    @contextmanager
    def verified_model(self, version: RegisteredVersion, role: str) -> Iterator[Path]:
        """A checked local copy of the version's files (model_trust.py): what every loader reads;
        missing files name the folder to restore."""
        missing = self.model_files_missing(version)
        if missing is not None:
            raise missing_model_files(self.model_name, version.version, role, missing)
        with verified_model_folder(self.client, self.model_name, version.version) as folder:
            yield folder

    def load_model(self, version: RegisteredVersion, role: str) -> PyFuncModel:
        """The version's pyfunc model, loaded from its verified copy."""
        with self.verified_model(version, role) as folder:
            model: PyFuncModel = mlflow.pyfunc.load_model(str(folder))
        return model

    def training_lock(self) -> AbstractContextManager[None]:
        """The model's training lock (locks.py); Databricks relies on max_concurrent_runs."""
        if isinstance(self.backend, LocalState):
            return training_lock(self.backend.home, self.model_name)
        return nullcontext()

    def experiment_id(self) -> str:
        name = experiment_name(self.params)
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            return str(
                self.client.create_experiment(
                    name, artifact_location=self.backend.experiment_artifact_location()
                )
            )
        return str(experiment.experiment_id)

    def close_interrupted_runs(self, experiment_id: str) -> None:
        """Runs left RUNNING by killed processes of this machine, closed (recovery.py). Only on
        local state: on Databricks, jobs run on hosts this task knows nothing about, where the same
        host name and pid can belong to another job's live run."""
        if not isinstance(self.backend, LocalState):
            return
        for run_id in close_interrupted_runs(self.client, experiment_id, self.project.tags):
            _logger.warning("closed run %s as KILLED: the process that ran it is gone", run_id)

    @contextmanager
    def run(self) -> Iterator[mlflow.ActiveRun]:
        """An MLflow run for this task, tagged with its provenance and the process that runs it;
        runs left RUNNING by killed local processes are closed first."""
        experiment_id = self.experiment_id()
        self.close_interrupted_runs(experiment_id)
        tags = {**self.provenance, self.project.tags.process: process_identity()}
        with mlflow.start_run(experiment_id=experiment_id, run_name=self.task, tags=tags) as run:
            checkpoint(RUN_STARTED)
            yield run


def missing_model_files(model_name: str, version: str, role: str, folder: Path) -> StateError:
    return StateError(
        f"the files of {model_name} v{version} ({role}) are missing from {folder} (the artifacts "
        f"folder was removed or moved): restore that folder from a backup; or start over in a new "
        f"home (move the home away and run the training job)"
    )
