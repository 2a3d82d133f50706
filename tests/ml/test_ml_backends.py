"""Backend selection and the thin Databricks backend (Spark and the workspace are not here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from databricks.sdk.errors import NotFound
from iris_mlops.backends import detect_backend_name, select_backend
from iris_mlops.backends.databricks import (
    REGISTRY_URI,
    TRACKING_URI,
    DatabricksBackend,
    merge_statement,
    served_entity,
)
from iris_mlops.backends.local import LocalBackend
from iris_mlops.context import TaskContext, experiment_name
from iris_mlops.errors import ParameterError
from iris_mlops.params import Environment, TaskParameters


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "local"),
        ({"DATABRICKS_RUNTIME_VERSION": "16.4"}, "databricks"),
        ({"DATABRICKS_RUNTIME_VERSION": "client.2.0"}, "databricks"),
        ({"DATABRICKS_RUNTIME_VERSION": "16.4", "IRIS_MLOPS_BACKEND": "local"}, "local"),
        ({"IRIS_MLOPS_BACKEND": "databricks"}, "databricks"),
    ],
)
def test_backend_is_detected_from_the_runtime_environment(environ: dict[str, str], expected: str) -> None:
    assert detect_backend_name(environ) == expected


def test_unknown_backend_override_names_the_allowed_values() -> None:
    with pytest.raises(ParameterError, match=r"IRIS_MLOPS_BACKEND='spark'.*local, databricks"):
        detect_backend_name({"IRIS_MLOPS_BACKEND": "spark"})


def test_local_backend_keeps_everything_under_the_home_override(tmp_path: Path) -> None:
    backend = select_backend({"IRIS_MLOPS_HOME": str(tmp_path)})
    assert isinstance(backend, LocalBackend)
    assert backend.tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert backend.table_path("main.iris.iris_features") == tmp_path / "tables/main/iris/iris_features"
    assert str(backend.experiment_artifact_location()).startswith(tmp_path.as_uri())


def test_local_backend_defaults_to_dot_local() -> None:
    backend = select_backend({})
    assert isinstance(backend, LocalBackend)
    assert backend.home == Path(".local").resolve()


def test_tables_and_model_use_three_level_unity_catalog_names() -> None:
    params = TaskParameters(env=Environment.UAT, catalog="mlops_uat", schema="iris", model_name="clf")
    context = TaskContext("t", params, LocalBackend(Path("unused")), client=None)  # type: ignore[arg-type]
    assert context.table("iris_features") == "mlops_uat.iris.iris_features"
    assert context.model_name == "mlops_uat.iris.clf"
    assert experiment_name(params) == "/Shared/iris-mlops-uat"


@pytest.fixture
def restored_mlflow_uris() -> Iterator[None]:
    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    yield
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry)


@pytest.mark.usefixtures("restored_mlflow_uris")
def test_databricks_backend_uses_the_unity_catalog_registry() -> None:
    DatabricksBackend().configure_mlflow()
    assert mlflow.get_tracking_uri() == TRACKING_URI == "databricks"
    assert mlflow.get_registry_uri() == REGISTRY_URI == "databricks-uc"
    assert DatabricksBackend().experiment_artifact_location() is None


def test_merge_statement_upserts_on_every_key() -> None:
    sql = merge_statement("c.s.t", "src", ("sample_id", "model_version"))
    assert sql.startswith("MERGE INTO c.s.t AS target USING src AS source ON ")
    assert "target.sample_id = source.sample_id AND target.model_version = source.model_version" in sql
    assert "WHEN MATCHED THEN UPDATE SET *" in sql
    assert "WHEN NOT MATCHED THEN INSERT *" in sql


class RecordingEndpoints:
    """Stands in for WorkspaceClient.serving_endpoints and records what deploy asks of it."""

    def __init__(self, exists: bool) -> None:
        self.exists = exists
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get(self, name: str) -> object:
        if not self.exists:
            raise NotFound(f"endpoint {name} does not exist")
        return object()

    def create(self, **kwargs: Any) -> None:
        self.calls.append(("create", kwargs))

    def update_config(self, **kwargs: Any) -> None:
        self.calls.append(("update_config", kwargs))


class RecordingWorkspace:
    def __init__(self, exists: bool) -> None:
        self.serving_endpoints = RecordingEndpoints(exists)


def test_deploy_creates_the_endpoint_on_a_fresh_environment() -> None:
    workspace = RecordingWorkspace(exists=False)
    DatabricksBackend(workspace).publish_endpoint("iris-dev", "c.s.m", "3")  # type: ignore[arg-type]
    ((call, kwargs),) = workspace.serving_endpoints.calls
    assert call == "create"
    assert kwargs["config"].served_entities == [served_entity("c.s.m", "3")]


def test_deploy_points_an_existing_endpoint_at_the_new_version() -> None:
    workspace = RecordingWorkspace(exists=True)
    DatabricksBackend(workspace).publish_endpoint("iris-dev", "c.s.m", "4")  # type: ignore[arg-type]
    ((call, kwargs),) = workspace.serving_endpoints.calls
    assert call == "update_config"
    (entity,) = kwargs["served_entities"]
    assert (entity.entity_name, entity.entity_version, entity.scale_to_zero_enabled) == ("c.s.m", "4", True)
