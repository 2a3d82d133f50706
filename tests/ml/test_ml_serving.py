"""Local serving answers like a Databricks serving endpoint (path, request and response JSON)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import mlflow
import pytest
from fastapi.testclient import TestClient
from iris_mlops.data import FEATURE_COLUMNS, load_iris_frame
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.errors import ParameterError
from mlops_framework.params import TaskParameters
from mlops_framework.serving import (
    ServingEndpointApp,
    champion_app,
    invocations_path,
    serve_in_thread,
    server_config,
    serving_token,
)
from mlops_framework.serving_launch import MAX_CONCURRENT_REQUESTS

ENDPOINT = "iris-dev"
PATH = invocations_path(ENDPOINT)
SPECIES = {"setosa", "versicolor", "virginica"}
ROWS = load_iris_frame().loc[[0, 60, 120], list(FEATURE_COLUMNS)]
HEADERS = {"Authorization": "Bearer dapi-not-checked-locally"}


@pytest.fixture(scope="module")
def app(trained: Path) -> ServingEndpointApp:
    return champion_app(TaskParameters(), project=IRIS)


@pytest.fixture(scope="module")
def client(app: ServingEndpointApp) -> TestClient:
    return TestClient(app)


REQUEST_SHAPES = {
    "dataframe_split": {"dataframe_split": ROWS.to_dict(orient="split", index=False)},
    "dataframe_records": {"dataframe_records": ROWS.to_dict(orient="records")},
    "inputs": {"inputs": ROWS.to_dict(orient="records")},
}


@pytest.mark.parametrize("shape", list(REQUEST_SHAPES))
def test_databricks_request_shapes_get_predictions(client: TestClient, shape: str) -> None:
    response = client.post(PATH, json=REQUEST_SHAPES[shape], headers=HEADERS)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert predictions == ["setosa", "versicolor", "virginica"]


def test_predictions_match_the_champion_loaded_directly(client: TestClient) -> None:
    model = mlflow.pyfunc.load_model("models:/main.iris.iris_classifier@champion")
    response = client.post(PATH, json=REQUEST_SHAPES["dataframe_split"])
    assert response.json()["predictions"] == list(model.predict(ROWS))


@pytest.mark.parametrize(
    "path", ["/serving-endpoints/other/invocations", "/serving-endpoints/iris-dev", "/nope", "/"]
)
def test_unknown_paths_get_a_clean_404_json(client: TestClient, path: str) -> None:
    response = client.post(path, json=REQUEST_SHAPES["inputs"], headers=HEADERS)
    assert response.status_code == 404
    assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert PATH in response.json()["message"]


BAD_PAYLOADS = {
    "not json": (b"{not json", "application/json"),
    "unknown key": (b'{"rows": [[1, 2, 3, 4]]}', "application/json"),
    "wrong columns": (b'{"dataframe_split": {"columns": ["a"], "data": [[1]]}}', "application/json"),
    "text in numbers": (
        b'{"dataframe_records": [{"sepal_length_cm": "x", "sepal_width_cm": 1,'
        b' "petal_length_cm": 1, "petal_width_cm": 1}]}',
        "application/json",
    ),
    "a bare list": (b"[1, 2, 3]", "application/json"),
    "empty body": (b"", "application/json"),
    "unsupported content type": (b"x", "application/xml"),
}


@pytest.mark.parametrize("payload", list(BAD_PAYLOADS))
def test_bad_payload_is_a_4xx_with_a_message_never_a_500(client: TestClient, payload: str) -> None:
    body, content_type = BAD_PAYLOADS[payload]
    response = client.post(PATH, content=body, headers={**HEADERS, "Content-Type": content_type})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.text.strip()


@pytest.mark.parametrize(
    ("payload", "advised"),
    [({"dataframe_split": {"columns": ["a"], "data": [[1]]}}, False), ({"instances": [{"a": 1}]}, True)],
)
def test_mlflows_instances_advice_is_logged_only_for_requests_that_use_instances(
    client: TestClient, caplog: pytest.LogCaptureFixture, payload: dict[str, object], advised: bool
) -> None:
    with caplog.at_level(logging.WARNING):
        response = client.post(PATH, json=payload, headers=HEADERS)
    assert response.status_code == 400, response.text  # the schema refused the columns
    assert any("If using `instances`" in r.getMessage() for r in caplog.records) is advised


def test_health_routes_stay_reachable(client: TestClient) -> None:
    assert client.get("/ping").status_code == 200


def test_a_real_port_serves_a_databricks_client_unchanged(app: ServingEndpointApp) -> None:
    with serve_in_thread(app) as url:
        response = httpx.post(f"{url}{PATH}", json=REQUEST_SHAPES["dataframe_split"], headers=HEADERS)
    assert response.status_code == 200
    assert set(response.json()["predictions"]) <= SPECIES
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/ping", timeout=1.0)


# --- issue 29, finding 10: who may score, and fill the tables that start a retrain ---------------


def test_with_a_token_only_its_bearer_scores(app: ServingEndpointApp) -> None:
    guarded = TestClient(ServingEndpointApp(app.follower, ENDPOINT, token="s3cret"))  # noqa: S106 - a test value
    payload = REQUEST_SHAPES["inputs"]
    refused = guarded.post(PATH, json=payload, headers=HEADERS)
    assert (refused.status_code, refused.json()["error_code"]) == (401, "UNAUTHENTICATED")
    assert guarded.post(PATH, json=payload).status_code == 401
    assert guarded.post(PATH, json=payload, headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert guarded.get("/ping").status_code == 200  # health stays open, as a load balancer needs


@pytest.mark.parametrize(
    ("host", "environ", "refused"),
    [
        ("127.0.0.1", {}, False),
        ("::1", {}, False),
        ("localhost", {}, False),
        ("0.0.0.0", {}, True),  # noqa: S104 - the bind being refused
        ("10.1.2.3", {}, True),
        ("0.0.0.0", {"MLOPS_SERVE_TOKEN": "s3cret"}, False),  # noqa: S104
    ],
)
def test_serving_beyond_loopback_needs_a_token(host: str, environ: dict[str, str], refused: bool) -> None:
    if refused:
        with pytest.raises(
            ParameterError, match=f"serving on {host} .* needs a token: set MLOPS_SERVE_TOKEN"
        ):
            serving_token(host, environ)
    else:
        assert serving_token(host, environ) == environ.get("MLOPS_SERVE_TOKEN")


def test_the_server_limits_concurrent_connections(app: ServingEndpointApp) -> None:
    assert server_config(app, "127.0.0.1", 0, "warning", "off").limit_concurrency == MAX_CONCURRENT_REQUESTS


def test_the_benchs_busiest_level_is_served_without_a_503() -> None:
    """uvicorn answers 503 once `limit_concurrency` connections are open: a limit at or below the
    bench's top level made `make bench` fail at its 64-client level."""
    from bench.serving_load import CLIENTS  # noqa: PLC0415 - the bench is not the suite's dependency

    assert max(CLIENTS) < MAX_CONCURRENT_REQUESTS
