"""One environment of the platform on the fake Databricks workspace, set up as `pulumi up` leaves it:
the registered model owned by the job principal, the grants of docs/databricks.md, and the jobs of
the wheel's graph with the platform's parameters.

The workspace (one per test session) is a loopback server (fake_workspace_server.py) serving the
Unity Catalog model registry (fake_uc_registry.py) to MLflow's own `databricks-uc` client and the
catalogs (fake_uc_catalogs.py) to the databricks-sdk; Spark
and Model Serving are the fakes of fake_databricks.py. Each principal calls with its own token, as
on Databricks: `acting_as` switches `DATABRICKS_TOKEN`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import mlflow
from fake_databricks import FakeServingRest, FakeSpark, FakeWorkspaceClient
from fake_jobs import JOB_RUN_REFERENCE, JobRunInProgress, JobsService, from_graph, resolve_references
from fake_uc_catalogs import Catalog, CatalogsService
from fake_uc_registry import Metastore, UcRegistryService
from fake_workspace_server import FakeWorkspaceServer
from iris_mlops.data import DEPLOYMENTS_TABLE
from iris_mlops.project import PROJECT as IRIS
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlops_framework import cli
from mlops_framework.backends.databricks import REGISTRY_URI, DatabricksBackend
from mlops_framework.entrypoints import run_task, task_entry
from mlops_framework.job_graph import load_job_graph
from mlops_framework.params import split_argument
from mlops_framework.vocabulary import CHAMPION, ENVIRONMENT_PROPERTY

JOBS, DEVELOPERS, APPROVERS, DEPLOYER = "jobs", "developers", "approvers", "deployer"
MODEL_NAME = "iris_classifier"


def run_iris_task(entry_point: str, arguments: list[str]) -> None:
    """What the job's python_wheel_task runs: the entry point of Iris's wheel (its ProjectScripts)."""
    run_task(entry_point, arguments, IRIS)


class FakeWorkspace:
    """The session's workspace: its REST server, the metastore behind it, the registry service."""

    def __init__(self) -> None:
        self.server = FakeWorkspaceServer().start()
        self.metastore = Metastore()
        self.registry = UcRegistryService(self.metastore)
        self.registry.install(self.server)
        self.catalogs = CatalogsService(self.metastore)
        self.catalogs.install(self.server)
        self.jobs = JobsService()
        self.jobs.install(self.server)

    def environ(self, principal: str) -> dict[str, str]:
        """What a process running as `principal` has: the workspace host and its token."""
        return {"DATABRICKS_HOST": self.server.host, "DATABRICKS_TOKEN": self.server.token_of(principal)}

    @contextmanager
    def acting_as(self, principal: str) -> Iterator[None]:
        previous = os.environ.get("DATABRICKS_TOKEN")
        os.environ["DATABRICKS_TOKEN"] = self.server.token_of(principal)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("DATABRICKS_TOKEN", None)
            else:
                os.environ["DATABRICKS_TOKEN"] = previous

    def close(self) -> None:
        self.server.stop()


class FakeDatabricksBackend(DatabricksBackend):
    """The real Databricks backend on the fake workspace; MLflow tracking stays a local SQLite
    store (the tracking server is not faked), the registry is `databricks-uc` as on Databricks."""

    def __init__(
        self, home: Path, spark: FakeSpark, rest: FakeServingRest, clock: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(workspace=FakeWorkspaceClient(rest), spark=spark)  # type: ignore[arg-type]
        self._clock = clock
        # Not `home`: a backend with one is local state (backends/base.py, LocalState), which takes
        # local locks and closes runs by host and pid; the real Databricks backend has none.
        self.tracking_folder = home

    def now(self) -> datetime:
        return self._clock() if self._clock is not None else super().now()

    def configure_mlflow(self) -> None:
        mlflow.set_tracking_uri(f"sqlite:///{self.tracking_folder / 'mlflow.db'}")
        mlflow.set_registry_uri(REGISTRY_URI)

    def experiment_artifact_location(self) -> str | None:
        """A plain path, not a file:// URI. With a tracking store that is not Databricks, MLflow
        registers a UC version from the logged model's artifact location (mlflow
        `tracking/client.py`, `_create_model_version`), and after the upload it deletes the
        "downloaded" copy unless `os.path.exists(source)`; for a file:// source that copy is the
        logged model itself (`_unity_catalog/registry/rest_store.py`, `_local_model_dir`)."""
        return str(self.tracking_folder / "artifacts")


@dataclass
class Environment:
    home: Path
    env: str
    schema: str
    workspace: FakeWorkspace
    catalog: str = ""  # "": mlops_<env>, as the platform's stacks name it (stacks/defaults.py)
    spark: FakeSpark = field(default_factory=FakeSpark)
    rest: FakeServingRest = field(default_factory=FakeServingRest)
    clock: Callable[[], datetime] | None = None  # the backend's time (Backend.now); None: the wall clock

    def __post_init__(self) -> None:
        self.catalog = self.catalog or f"mlops_{self.env}"
        self.backend = FakeDatabricksBackend(self.home, self.spark, self.rest, self.clock)
        self._grant_as_pulumi_does()

    @property
    def metastore(self) -> Metastore:
        return self.workspace.metastore

    @property
    def registry(self) -> UcRegistryService:
        return self.workspace.registry

    @property
    def model(self) -> str:
        return f"{self.catalog}.{self.schema}.{MODEL_NAME}"

    @property
    def endpoint(self) -> str:
        return f"mlops-{self.env}-{MODEL_NAME}"

    @property
    def production_like(self) -> bool:
        return self.env in {"uat", "prod"}

    def acting_as(self, principal: str) -> AbstractContextManager[None]:
        return self.workspace.acting_as(principal)

    def _grant_as_pulumi_does(self) -> None:
        catalog, schema, grant = self.catalog, f"{self.catalog}.{self.schema}", self.metastore.grant
        # The catalog is the deployers', with its environment as a property (infra/unity_catalog.py).
        self.workspace.catalogs.create(Catalog(catalog, DEPLOYER, {ENVIRONMENT_PROPERTY: self.env}))
        for principal in (JOBS, DEVELOPERS, APPROVERS, DEPLOYER):
            grant(catalog, principal, "USE_CATALOG")
            grant(schema, principal, "USE_SCHEMA")
        # The job principal has no CREATE MODEL: the model is Pulumi's, owned by the job principal.
        grant(schema, JOBS, "SELECT", "MODIFY", "CREATE_TABLE", "EXECUTE")
        grant(schema, DEPLOYER, "CREATE_MODEL")
        self.backend.configure_mlflow()
        with self.acting_as(DEPLOYER):
            MlflowClient(registry_uri=REGISTRY_URI).create_registered_model(self.model)
        # Pulumi's RegisteredModel sets `owner` (infra/model_serving.py); grants follow ownership.
        self.metastore.models[self.model].owner = JOBS
        grant(self.model, DEPLOYER, "EXECUTE")
        grant(self.model, DEVELOPERS, "EXECUTE")
        grant(self.model, APPROVERS, "EXECUTE", "APPLY_TAG")

    def client(self) -> MlflowClient:
        self.backend.configure_mlflow()
        return MlflowClient()

    def champion(self) -> str | None:
        try:
            return str(self.client().get_model_version_by_alias(self.model, CHAMPION).version)
        except MlflowException:
            return None

    def alias_tags(self, alias: str) -> dict[str, str]:
        return dict(self.client().get_model_version_by_alias(self.model, alias).tags)

    def deployments(self) -> list[dict[str, object]]:
        table = self.spark.tables.get(f"{self.catalog}.{self.schema}.{DEPLOYMENTS_TABLE}")
        return [] if table is None else table.to_dict("records")

    def task(self, entry_point: str, *extra: str, job_run: str = "4242") -> None:
        """One task as the job principal, with the platform's parameters that the task takes, as a
        task of job run `job_run` (a repair of one run, task by task); an `extra` `--key=value`
        replaces the platform's value of that key, as a task's own parameters would."""
        accepted = task_entry(entry_point, IRIS).accepted
        named = {
            k: resolve_references(v, job_run) for k, v in self.task_parameters().items() if k in accepted
        }
        named.update(split_argument(argument) for argument in extra)
        with self.acting_as(JOBS):
            run_task(entry_point, [f"--{k}={v}" for k, v in named.items()], IRIS)

    def approve_version(self, version: str, as_principal: str = APPROVERS) -> None:
        """`iris-mlops approve --version=N`, as an approver types it (docs/ml.md, approval)."""
        scope = [f"--env={self.env}", f"--catalog={self.catalog}", f"--schema={self.schema}"]
        with self.acting_as(as_principal):
            cli.main(["approve", *scope, f"--version={version}"], project=IRIS)

    def task_parameters(self) -> dict[str, str]:
        return {
            "env": self.env,
            "catalog": self.catalog,
            "schema": self.schema,
            "model_name": MODEL_NAME,
            "experiment_name": f"/Shared/mlops-{self.env}-{MODEL_NAME}",
            "primary_metric": "f1_macro",
            "require_approval": "true" if self.production_like else "false",
            "endpoint_name": self.endpoint,
            "job_run_id": JOB_RUN_REFERENCE,
        }

    def run(
        self, job: str, python_named_params: dict[str, str] | None = None, **overrides: str
    ) -> JobRunInProgress:
        """A run, whoever starts it, as the job's run_as: the job principal. Job parameters default
        as infra/jobs.py sets them; `overrides` are a run-now's job parameters."""
        defaults = {"margin": "0.0", "drift_summary": "{}", "rescore": "changed"}
        definition = from_graph(load_job_graph(IRIS.package), job, self.task_parameters(), defaults)
        with self.acting_as(JOBS):
            return JobRunInProgress(definition, overrides, python_named_params).finish(run_iris_task)
