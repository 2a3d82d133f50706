"""Served requests reach the monitoring window: the local endpoint records what it answered,
unpacked into the predictions table's columns, and the monitoring job reads it with the batch rows."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from deltalake import DeltaTable
from fastapi.testclient import TestClient
from iris_mlops.data import FEATURE_COLUMNS, SERVED_TABLE, load_iris_frame
from iris_mlops.project import PROJECT as IRIS
from iris_mlops.samples import new_samples
from mlflow.pyfunc.scoring_server import infer_and_parse_data
from mlops_framework.params import TaskParameters
from mlops_framework.served_log import ServedRequest, ServedRequestLog, unpack
from mlops_framework.serving import champion_app, invocations_path
from mlops_framework.steps.monitor import monitor
from test_ml_monitor import SHIFT, Recording, context, trained_schema

ROWS = load_iris_frame().loc[[0, 60, 120], list(FEATURE_COLUMNS)].reset_index(drop=True)
ANSWER = json.dumps({"predictions": ["setosa", "versicolor", "virginica"]})
SERVED_AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def served(payload: dict[str, object], response: str = ANSWER) -> ServedRequest:
    return ServedRequest(payload, response, "3", None, SERVED_AT, "req-1")


@pytest.mark.parametrize(
    "payload",
    [
        {"dataframe_split": ROWS.to_dict(orient="split", index=False)},
        {"dataframe_records": ROWS.to_dict(orient="records")},
        {"inputs": ROWS.to_dict(orient="records")},
        {"instances": ROWS.to_numpy().tolist()},  # unnamed rows: columns in the signature's order
    ],
)
def test_a_served_request_unpacks_into_the_predictions_tables_columns(payload: dict[str, object]) -> None:
    rows = unpack(served(payload), IRIS)
    assert list(rows[list(FEATURE_COLUMNS)].to_numpy().tolist()) == ROWS.to_numpy().tolist()
    assert list(rows["prediction"]) == ["setosa", "versicolor", "virginica"]
    assert set(rows["model_version"]) == {"3"}
    assert list(rows["row"]) == [0, 1, 2]
    assert set(rows["request_id"]) == {"req-1"}
    assert set(rows["scored_at"]) == {pd.Timestamp(SERVED_AT)}


def test_one_flush_writes_every_pending_request_row_by_row_with_its_own_version_and_time() -> None:
    written: list[pd.DataFrame] = []
    times = iter([SERVED_AT, SERVED_AT.replace(hour=10)])
    log = ServedRequestLog(written.append, IRIS, clock=lambda: next(times))
    log.record({"dataframe_split": ROWS.to_dict(orient="split", index=False)}, ANSWER, "3", None)
    one_row = {"inputs": ROWS.iloc[[2]].to_dict(orient="records")}
    log.record(one_row, '{"predictions": ["virginica"]}', "4", None)
    assert log.flush() == 4
    (rows,) = written
    assert list(rows["row"]) == [0, 1, 2, 0]
    assert rows["request_id"].nunique() == 2
    assert rows["request_id"].iloc[0] == rows["request_id"].iloc[2] != rows["request_id"].iloc[3]
    assert list(rows["model_version"]) == ["3", "3", "3", "4"]
    assert list(rows["prediction"]) == ["setosa", "versicolor", "virginica", "virginica"]
    assert rows["scored_at"].iloc[3] == pd.Timestamp(SERVED_AT.replace(hour=10))
    assert rows[list(FEATURE_COLUMNS)].iloc[3].tolist() == ROWS.iloc[2].tolist()
    assert log.flush() == 0  # nothing pending: nothing written twice


def test_an_answer_that_does_not_match_its_request_is_refused() -> None:
    records = {"dataframe_records": ROWS.to_dict(orient="records")}
    request = served(records, json.dumps({"predictions": [1, 2]}))
    with pytest.raises(ValueError, match="2 predictions for 3 rows"):
        unpack(request, IRIS)


def test_a_record_that_cannot_be_unpacked_or_written_is_logged_never_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    written: list[pd.DataFrame] = []
    log = ServedRequestLog(written.append, IRIS)
    log.record({"dataframe_records": ROWS.to_dict(orient="records")}, ANSWER, "3", None)
    log.record({"dataframe_records": ROWS.to_dict(orient="records")}, "not json", "3", None)
    with caplog.at_level(logging.WARNING, logger="iris_mlops"):
        assert log.flush() == 3
    assert len(written) == 1
    assert "not recorded" in caplog.text

    def broken(rows: pd.DataFrame) -> None:
        raise OSError("disk full")

    failing = ServedRequestLog(broken, IRIS)
    failing.record({"dataframe_records": ROWS.to_dict(orient="records")}, ANSWER, "3", None)
    assert failing.flush() == 0
    assert failing.flush() == 0  # dropped, not retried forever


def test_requests_of_one_shape_are_parsed_as_one_and_unpack_as_they_would_one_by_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The writer's cost: MLflow's parser once per (columns, version) group, not once per request;
    the rows, their order, and a bad record dropped alone, exactly as one by one."""
    split = {"dataframe_split": ROWS.to_dict(orient="split", index=False)}
    reordered = {
        "dataframe_split": ROWS[list(reversed(FEATURE_COLUMNS))].to_dict(orient="split", index=False)
    }
    one_row = {"dataframe_split": ROWS.iloc[[1]].to_dict(orient="split", index=False)}
    batch = [
        ServedRequest(split, ANSWER, "3", None, SERVED_AT, "a"),
        ServedRequest({"inputs": ROWS.to_dict(orient="records")}, ANSWER, "3", None, SERVED_AT, "b"),
        ServedRequest(one_row, '{"predictions": ["versicolor"]}', "3", None, SERVED_AT, "c"),
        ServedRequest(reordered, ANSWER, "3", None, SERVED_AT, "d"),
        ServedRequest(split, ANSWER, "4", None, SERVED_AT, "e"),
        ServedRequest(one_row, '{"predictions": []}', "3", None, SERVED_AT, "bad"),  # drops alone
        ServedRequest(split, ANSWER, "3", None, SERVED_AT, "f"),
    ]
    expected = pd.concat([unpack(request, IRIS) for request in batch if request.request_id != "bad"])

    calls: list[object] = []

    def parse(data: object, schema: Any) -> object:
        calls.append(data)
        return infer_and_parse_data(data, schema)

    monkeypatch.setattr("mlops_framework.served_log.infer_and_parse_data", parse)
    written: list[pd.DataFrame] = []
    log = ServedRequestLog(written.append, IRIS)
    for request in batch:
        log.add(request)
    with caplog.at_level(logging.WARNING, logger="iris_mlops"):
        assert log.flush() == len(expected)
    (rows,) = written
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), expected.reset_index(drop=True))
    assert "served request bad not recorded: 0 predictions for 1 rows" in caplog.text
    # (split columns, v3) is a, c, bad, f: one call, refused for "bad", then one by one (4 calls);
    # (reversed columns, v3), (split columns, v4) and "inputs" (never grouped): one call each.
    assert len(calls) == 1 + 4 + 1 + 1 + 1
    # A batch of one shape is one call, however many requests it holds.
    calls.clear()
    for request_id in range(500):
        log.add(ServedRequest(split, ANSWER, "3", None, SERVED_AT, str(request_id)))
    assert log.flush() == 1500
    assert len(calls) == 1


def test_served_requests_are_in_the_monitoring_window_with_the_batch_rows(trained: Path) -> None:
    """Batch inference alone scored the unshifted Iris rows; 400 shifted flowers arrive through the
    endpoint. Without the served rows the monitor sees no drift."""
    schema = "drift_served"
    trained_schema(schema)
    app = champion_app(TaskParameters(schema=schema), poll_seconds=0, project=IRIS)
    assert app.recorder is not None
    shifted = new_samples(400, seed=7, scale=SHIFT, first_key=10_000)[list(FEATURE_COLUMNS)]
    path = invocations_path(app.endpoint_name)
    client = TestClient(app)
    for start in range(0, len(shifted), 100):
        batch = shifted.iloc[start : start + 100]
        response = client.post(path, json={"dataframe_split": batch.to_dict(orient="split", index=False)})
        assert response.status_code == 200, response.text
    app.recorder.stop()  # what the server's shutdown does; the background writer flushes meanwhile

    table = DeltaTable(str(trained / "tables" / "main" / schema / SERVED_TABLE)).to_pandas()
    assert len(table) == 400
    assert set(table["model_version"]) == {app.follower.served.version}

    trigger = Recording()
    said = monitor(context(schema), trigger)
    assert "550 scored rows" in said  # 150 batch rows + 400 served
    assert "drift in" in said
    assert len(trigger.requests) == 1
