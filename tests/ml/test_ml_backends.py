"""Backend selection and the thin Databricks backend (Spark and the workspace are not here)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import mlflow
import pytest
from databricks.sdk.service.serving import (
    EndpointCoreConfigOutput,
    EndpointPendingConfig,
    Route,
    ServedEntityInput,
    ServedEntityOutput,
    ServingEndpointDetailed,
    TrafficConfig,
)
from fake_databricks import FakeServingRest, FakeWorkspaceClient
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.backends import detect_backend_name, select_backend
from mlops_framework.backends.databricks import (
    REGISTRY_URI,
    SERVED_ENTITY_NAME,
    TRACKING_URI,
    DatabricksBackend,
    merge_statement,
)
from mlops_framework.backends.local import LocalBackend
from mlops_framework.context import TaskContext, experiment_name
from mlops_framework.errors import ParameterError, ServingError
from mlops_framework.params import Environment, TaskParameters


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "local"),
        ({"DATABRICKS_RUNTIME_VERSION": "16.4"}, "databricks"),
        ({"DATABRICKS_RUNTIME_VERSION": "client.2.0"}, "databricks"),
        ({"DATABRICKS_RUNTIME_VERSION": "16.4", "MLOPS_BACKEND": "local"}, "local"),
        ({"MLOPS_BACKEND": "databricks"}, "databricks"),
    ],
)
def test_backend_is_detected_from_the_runtime_environment(environ: dict[str, str], expected: str) -> None:
    assert detect_backend_name(environ) == expected


def test_unknown_backend_override_names_the_allowed_values() -> None:
    with pytest.raises(ParameterError, match=r"MLOPS_BACKEND='spark'.*local, databricks"):
        detect_backend_name({"MLOPS_BACKEND": "spark"})


def test_local_backend_keeps_everything_under_the_home_override(tmp_path: Path) -> None:
    backend = select_backend({"MLOPS_HOME": str(tmp_path)})
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
    context = TaskContext("t", params, LocalBackend(Path("unused")), client=None, project=IRIS)  # type: ignore[arg-type]
    assert context.table("iris_features") == "mlops_uat.iris.iris_features"
    assert context.model_name == "mlops_uat.iris.clf"
    assert experiment_name(params) == "/Shared/iris-mlops-uat"


def test_the_platforms_experiment_name_wins_over_the_local_default() -> None:
    params = TaskParameters(env=Environment.UAT, experiment_name="/Shared/mlops-uat-iris_classifier")
    assert experiment_name(params) == "/Shared/mlops-uat-iris_classifier"


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


def test_a_scoring_runs_merge_names_its_day_and_version_so_delta_prunes_the_history() -> None:
    sql = merge_statement(
        "c.s.t", "src", ("sample_id",), {"scored_on": "DATE'2031-03-02'", "model_version": "'3'"}
    )
    assert (
        " ON target.scored_on = DATE'2031-03-02' AND target.model_version = '3' AND target.sample_id = "
        in sql
    )


MODEL = "c.s.m"


def live_entity(version: str = "3", **fields: Any) -> ServedEntityOutput:
    """The champion entity as Pulumi creates it in prod: Medium, never scaled to zero."""
    defaults: dict[str, Any] = {
        "name": SERVED_ENTITY_NAME,
        "entity_name": MODEL,
        "entity_version": version,
        "workload_size": "Medium",
        "scale_to_zero_enabled": False,
        "workload_type": None,
        "environment_vars": {"LOG_LEVEL": "INFO"},
        "creator": "pulumi-deployer",
        "creation_timestamp": 1,
    }
    return ServedEntityOutput(**{**defaults, **fields})


def live_endpoint(*entities: ServedEntityOutput, pending: bool = False) -> ServingEndpointDetailed:
    routes = [Route(traffic_percentage=100, served_entity_name=SERVED_ENTITY_NAME)]
    return ServingEndpointDetailed(
        name="iris-prod",
        config=EndpointCoreConfigOutput(
            served_entities=list(entities) or None, traffic_config=TrafficConfig(routes=routes)
        ),
        pending_config=EndpointPendingConfig() if pending else None,
    )


def recording(endpoint: ServingEndpointDetailed | None) -> FakeServingRest:
    """The serving REST API holding `endpoint` (settled); it records every PUT deploy sends."""
    rest = FakeServingRest()
    if endpoint is not None:
        rest.endpoints[str(endpoint.name)] = {
            **endpoint.as_dict(),
            "state": {"config_update": "NOT_UPDATING", "ready": "READY"},
        }
    return rest


def publish(rest: FakeServingRest, version: str) -> str:
    backend = DatabricksBackend(FakeWorkspaceClient(rest))  # type: ignore[arg-type]
    return backend.publish_endpoint("iris-prod", MODEL, version, timedelta(minutes=1))


def test_deploy_never_creates_the_endpoint_pulumi_owns(caplog: pytest.LogCaptureFixture) -> None:
    rest = recording(None)
    with caplog.at_level(logging.WARNING, logger="iris_mlops"):
        outcome = publish(rest, "1")
    assert rest.puts == []
    assert "does not exist yet" in outcome
    assert "databricks.createServingEndpoint" in caplog.text
    assert "pulumi up" in caplog.text


def test_deploy_changes_only_the_served_version_of_an_existing_endpoint() -> None:
    rest = recording(live_endpoint(live_entity("3")))
    publish(rest, "4")
    (body,) = rest.puts
    (sent,) = [ServedEntityInput.from_dict(entity) for entity in body["served_entities"]]
    assert sent.entity_version == "4"
    assert rest.serves("iris-prod") == "4"
    # Everything Pulumi owns goes back exactly as the endpoint reported it.
    assert (sent.name, sent.entity_name, sent.workload_size, sent.scale_to_zero_enabled) == (
        SERVED_ENTITY_NAME,
        MODEL,
        "Medium",
        False,
    )
    # ...and so do the settings a person may have added (a PUT replaces the entity whole).
    assert sent.environment_vars == {"LOG_LEVEL": "INFO"}
    assert TrafficConfig.from_dict(body["traffic_config"]) == live_endpoint().config.traffic_config  # type: ignore[union-attr]


def test_deploy_keeps_other_served_entities_as_they_are() -> None:
    shadow = live_entity("2", name="shadow", workload_size="Small", scale_to_zero_enabled=True)
    rest = recording(live_endpoint(live_entity("3"), shadow))
    publish(rest, "5")
    (body,) = rest.puts
    versions = {entity["name"]: entity["entity_version"] for entity in body["served_entities"]}
    assert versions == {SERVED_ENTITY_NAME: "5", "shadow": "2"}


def test_deploy_of_the_version_already_served_sends_no_update() -> None:
    rest = recording(live_endpoint(live_entity("4")))
    assert "already serves" in publish(rest, "4")
    assert rest.puts == []


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (live_endpoint(live_entity(name="blue")), r"no served entity 'champion' \(found: \['blue'\]\)"),
        (live_endpoint(pending=True), "still being applied"),
        (live_endpoint(live_entity(entity_name="c.s.other")), "serves model c.s.other, not c.s.m"),
    ],
    ids=["renamed entity", "creation in progress", "other model"],
)
def test_deploy_refuses_an_endpoint_it_cannot_update_safely(
    endpoint: ServingEndpointDetailed, message: str
) -> None:
    rest = recording(endpoint)
    with pytest.raises(ServingError, match=message):
        publish(rest, "4")
    assert rest.puts == []


def test_deploy_sends_back_no_field_the_api_refuses_with_the_workload_size() -> None:
    """The GET reports the provisioned-concurrency range the workload size implies; sent back with
    the size, the API refuses the PUT. Deploy carries an allow-list, not whatever the GET says."""
    reported = live_entity("3", min_provisioned_concurrency=8, max_provisioned_concurrency=16)
    rest = recording(live_endpoint(reported))
    publish(rest, "4")
    (body,) = rest.puts
    (sent,) = body["served_entities"]
    assert sent["workload_size"] == "Medium"
    assert "min_provisioned_concurrency" not in sent
    assert "max_provisioned_concurrency" not in sent
    assert rest.serves("iris-prod") == "4"
