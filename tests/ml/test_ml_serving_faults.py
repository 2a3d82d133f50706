"""`iris-mlops serve` against hostile requests, and following the champion alias across deploys."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import mlflow
import pytest
from fastapi.testclient import TestClient
from iris_mlops.data import FEATURE_COLUMNS, load_iris_frame
from iris_mlops.project import PROJECT as IRIS
from mlflow import MlflowClient
from mlops_framework.backends.local import LocalBackend
from mlops_framework.model_trust import ARTIFACT_DIGEST_TAG
from mlops_framework.params import TaskParameters
from mlops_framework.scoring_requests import PAYLOAD_LIMIT_BYTES
from mlops_framework.serving import (
    VERSION_HEADER,
    ServingEndpointApp,
    champion_app,
    invocations_path,
    serve_in_thread,
)
from mlops_framework.vocabulary import CHAMPION

PATH = invocations_path("iris-dev")
ROWS = load_iris_frame().loc[[0, 60, 120], list(FEATURE_COLUMNS)]
GOOD = json.dumps({"dataframe_split": ROWS.to_dict(orient="split", index=False)}).encode()
JSON = {"Content-Type": "application/json"}
JSON_HEADER = "Content-Type: application/json\r\n"


@pytest.fixture(scope="module")
def app(trained: Path) -> ServingEndpointApp:
    return champion_app(TaskParameters(), poll_seconds=0, project=IRIS)


@pytest.fixture(scope="module")
def client(app: ServingEndpointApp) -> TestClient:
    return TestClient(app)


def with_first_value(value: str) -> bytes:
    return GOOD.replace(b"5.1", value.encode(), 1)


HOSTILE = {
    # name: (body, headers, status, words the message must contain)
    "no content type": (GOOD, {}, 415, "Content-Type none is not supported"),
    "empty content type": (GOOD, {"Content-Type": ""}, 415, "Content-Type none is not supported"),
    "form content type": (
        GOOD,
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "application/json",
    ),
    "latin-1 charset": (GOOD, {"Content-Type": "application/json; charset=latin-1"}, 415, "application/json"),
    "100,000-deep JSON": (b"[" * 100_000 + b"]" * 100_000, JSON, 400, "nested too deeply"),
    "deep inside inputs": (b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", JSON, 400, "nested too"),
    "NaN": (with_first_value("NaN"), JSON, 400, "NaN is not a JSON number"),
    "Infinity": (with_first_value("Infinity"), JSON, 400, "Infinity is not a JSON number"),
    "-Infinity": (with_first_value("-Infinity"), JSON, 400, "-Infinity is not a JSON number"),
    "1e400": (with_first_value("1e400"), JSON, 400, "1e400 is out of range for a 64-bit float"),
    "a 400-digit integer": (with_first_value("9" * 400), JSON, 400, "out of range for a 64-bit float"),
    "null": (with_first_value("null"), JSON, 400, "dataframe_split.data[0][0] is null"),
    "null in records": (
        b'{"dataframe_records": [{"sepal_length_cm": null}]}',
        JSON,
        400,
        "dataframe_records[0].sepal_length_cm is null",
    ),
    "no rows": (b'{"dataframe_split": {"columns": ["a"], "data": []}}', JSON, 400, "holds no rows"),
    "empty records": (b'{"dataframe_records": []}', JSON, 400, "dataframe_records holds no rows"),
    "empty inputs": (b'{"inputs": {}}', JSON, 400, "inputs holds no rows"),
    "empty body": (b"", JSON, 400, "the request body is empty"),
    "two input keys": (b'{"inputs": [[1]], "instances": [[1]]}', JSON, 400, "exactly one of"),
    "not UTF-8": (b'{"inputs": "\xff"}', JSON, 400, "not valid UTF-8"),
    "a string feature": (with_first_value('"x"'), JSON, 400, "Failed to convert column sepal_length_cm"),
    "a missing column": (
        b'{"dataframe_split": {"columns": ["sepal_length_cm"], "data": [[1.0]]}}',
        JSON,
        400,
        "missing inputs",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_requests_get_a_4xx_that_says_what_is_wrong(client: TestClient, case: str) -> None:
    body, headers, status, words = HOSTILE[case]
    response = client.post(PATH, content=body, headers=headers)
    assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"error_code", "message"}  # Databricks' error shape, no stack_trace
    assert words in answer["message"]
    assert "Traceback" not in response.text
    assert 'File "' not in response.text


def test_every_answer_names_the_version_that_answered(client: TestClient) -> None:
    champion = MlflowClient().get_model_version_by_alias("main.iris.iris_classifier", CHAMPION)
    ok = client.post(PATH, content=GOOD, headers=JSON)
    refused = client.post(PATH, content=with_first_value("NaN"), headers=JSON)
    assert ok.status_code == 200
    assert ok.headers[VERSION_HEADER] == refused.headers[VERSION_HEADER] == str(champion.version)


def test_a_body_over_the_databricks_payload_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    response = client.post(PATH, content=b" " * (PAYLOAD_LIMIT_BYTES + 1), headers=JSON)
    assert response.status_code == 413
    assert "over the 16 MB payload limit" in response.json()["message"]


def test_get_on_the_invocations_path_is_a_405(client: TestClient) -> None:
    response = client.get(PATH)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send raw bytes; return the whole answer (head and the body its Content-Length announces)."""
    host, port = url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        while chunk := connection.recv(65536):
            answer += chunk
            head, separator, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: (\d+)", head)
            if separator and length and len(body) >= int(length.group(1)):
                break
    return answer


@pytest.fixture(scope="module")
def server(app: ServingEndpointApp) -> Iterator[str]:
    app.body_timeout = 0.2  # the test waits for the server's own timeout; a real one is 10 s
    with serve_in_thread(app) as url:
        yield url


def test_a_content_length_longer_than_the_body_gets_a_408_not_a_hang(server: str) -> None:
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    answer = raw_exchange(server, head.encode() + GOOD)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"stopped arriving" in answer
    assert b"the 1000 that Content-Length announced" in answer


def test_a_huge_content_length_is_a_413_without_sending_the_body(server: str) -> None:
    head = f"POST {PATH} HTTP/1.1\r\nHost: x\r\n{JSON_HEADER}Content-Length: {96 << 20}\r\n\r\n"
    assert raw_exchange(server, head.encode()).startswith(b"HTTP/1.1 413 ")


def test_a_1_mb_url_gets_a_400_not_a_reset(server: str) -> None:
    answer = raw_exchange(server, f"GET /{'a' * 1_000_000} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"request line and headers are over 16 KiB" in answer


# -- following the champion alias -----------------------------------------------------------------

FOLLOWED = "main.follow.iris_classifier"


@pytest.fixture(scope="module")
def followed(trained: Path) -> MlflowClient:
    """A model whose versions are the trained champion's files registered again (no training),
    each with the digest training recorded for those files (iris_mlops/model_trust.py)."""
    client = MlflowClient()
    champion = client.get_model_version_by_alias("main.iris.iris_classifier", CHAMPION)
    client.create_registered_model(FOLLOWED)
    digest = {ARTIFACT_DIGEST_TAG: champion.tags[ARTIFACT_DIGEST_TAG]}
    for _ in range(2):
        client.create_model_version(FOLLOWED, champion.source, run_id=champion.run_id, tags=digest)
    client.set_registered_model_alias(FOLLOWED, CHAMPION, "1")
    return client


def test_serve_follows_the_champion_alias_and_swaps_the_model(followed: MlflowClient) -> None:
    app = champion_app(TaskParameters(schema="follow"), poll_seconds=0, project=IRIS)
    client = TestClient(app)
    assert client.post(PATH, content=GOOD, headers=JSON).headers[VERSION_HEADER] == "1"
    assert not app.follower.refresh()  # the alias has not moved: nothing is loaded
    followed.set_registered_model_alias(FOLLOWED, CHAMPION, "2")
    assert app.follower.refresh()
    answer = client.post(PATH, content=GOOD, headers=JSON)
    assert answer.headers[VERSION_HEADER] == "2"
    assert answer.json()["predictions"] == list(
        mlflow.pyfunc.load_model(f"models:/{FOLLOWED}/2").predict(ROWS)
    )


def test_a_champion_that_cannot_be_loaded_leaves_the_current_one_serving(
    followed: MlflowClient, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    app = champion_app(TaskParameters(schema="follow"), poll_seconds=0, project=IRIS)
    serving = app.follower.served.version
    broken = followed.create_model_version(FOLLOWED, (tmp_path / "no-model-here").as_uri())
    followed.set_registered_model_alias(FOLLOWED, CHAMPION, str(broken.version))
    try:
        assert not app.follower.refresh()
    finally:
        followed.set_registered_model_alias(FOLLOWED, CHAMPION, serving)
    assert app.follower.served.version == serving
    assert TestClient(app).post(PATH, content=GOOD, headers=JSON).headers[VERSION_HEADER] == serving
    assert f"still serving v{serving}" in caplog.text


def test_deploy_says_how_a_running_server_picks_the_new_champion(tmp_path: Path) -> None:
    message = LocalBackend(tmp_path).publish_endpoint("iris-dev", "c.s.m", "7", timedelta(minutes=1))
    assert "c.s.m@champion is v7" in message
    assert "switches to it at its next alias check" in message
    assert "serves" not in message.split(";")[0]  # no claim that something already serves it
