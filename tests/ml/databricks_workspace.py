"""One environment of the platform on the fake Databricks workspace (fake_databricks.py), set up
as `pulumi up` leaves it: the registered model owned by the job principal, the grants of
docs/databricks.md, and the jobs of the wheel's graph with the platform's parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mlflow
from fake_databricks import (
    CURRENT_CATALOG,
    FakeServingRest,
    FakeSpark,
    FakeUnityCatalog,
    FakeWorkspaceClient,
    JobRun,
    UnityCatalogRegistryStore,
    run_job,
)
from iris_mlops.backends.databricks import DatabricksBackend
from iris_mlops.entrypoints import run_task
from iris_mlops.job_graph import load_job_graph
from mlflow import MlflowClient
from mlflow.tracking._model_registry.utils import _get_store_registry

REGISTRY_SCHEME = "fakeuc"
JOBS, DEVELOPERS, APPROVERS, DEPLOYER = "jobs", "developers", "approvers", "deployer"
MODEL_NAME = "iris_classifier"


def _registry_store(store_uri: str) -> UnityCatalogRegistryStore:
    return UnityCatalogRegistryStore("sqlite:" + store_uri.removeprefix(f"{REGISTRY_SCHEME}:"))


_get_store_registry().register(REGISTRY_SCHEME, _registry_store)


class FakeDatabricksBackend(DatabricksBackend):
    """The real Databricks backend on the fake workspace; only the MLflow URIs point elsewhere."""

    def __init__(self, home: Path, spark: FakeSpark, rest: FakeServingRest) -> None:
        super().__init__(workspace=FakeWorkspaceClient(rest), spark=spark)  # type: ignore[arg-type]
        self.home = home

    def configure_mlflow(self) -> None:
        mlflow.set_tracking_uri(f"sqlite:///{self.home / 'mlflow.db'}")
        mlflow.set_registry_uri(f"{REGISTRY_SCHEME}:///{self.home / 'mlflow.db'}")

    def experiment_artifact_location(self) -> str | None:
        return (self.home / "artifacts").as_uri()


@dataclass
class Environment:
    home: Path
    env: str
    schema: str
    catalog: str = "mlops"
    spark: FakeSpark = field(default_factory=FakeSpark)
    uc: FakeUnityCatalog = field(default_factory=FakeUnityCatalog)
    rest: FakeServingRest = field(default_factory=FakeServingRest)

    def __post_init__(self) -> None:
        self.backend = FakeDatabricksBackend(self.home, self.spark, self.rest)
        CURRENT_CATALOG.append(self.uc)
        self._grant_as_pulumi_does()

    @property
    def model(self) -> str:
        return f"{self.catalog}.{self.schema}.{MODEL_NAME}"

    @property
    def endpoint(self) -> str:
        return f"mlops-{self.env}-{MODEL_NAME}"

    @property
    def production_like(self) -> bool:
        return self.env in {"uat", "prod"}

    def _grant_as_pulumi_does(self) -> None:
        catalog, schema = self.catalog, f"{self.catalog}.{self.schema}"
        for principal in (JOBS, DEVELOPERS, APPROVERS):
            self.uc.grant(catalog, principal, "USE_CATALOG")
            self.uc.grant(schema, principal, "USE_SCHEMA")
        # The job principal has no CREATE MODEL: the model is Pulumi's, owned by the job principal.
        self.uc.grant(schema, JOBS, "SELECT", "MODIFY", "CREATE_TABLE", "EXECUTE")
        self.uc.grant(schema, DEPLOYER, "CREATE_MODEL")
        self.uc.grant(self.model, DEVELOPERS, "EXECUTE")
        self.uc.grant(self.model, APPROVERS, "EXECUTE", "APPLY_TAG")
        self.backend.configure_mlflow()
        with self.uc.acting_as(DEPLOYER):
            MlflowClient().create_registered_model(self.model)
        self.uc.owners[self.model] = JOBS

    def close(self) -> None:
        CURRENT_CATALOG.remove(self.uc)

    def client(self) -> MlflowClient:
        self.backend.configure_mlflow()
        return MlflowClient()

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
        }

    def run(self, job: str, **overrides: str) -> JobRun:
        """A run as the job principal; job parameters default as infra/jobs.py sets them."""
        defaults = {"margin": "0.0", "drift_summary": "{}"}
        return run_job(load_job_graph(), job, self.task_parameters(), {**defaults, **overrides}, run_task)
