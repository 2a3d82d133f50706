"""Recording served requests never stalls a request: the writing is another process's work.

The bound is on work, not on time: Python calls made by the serving process (every thread but the
test's own), counted with a profile hook. A request answered while a flush is under way, with the
writer held inside its table write, costs the serving process less than two requests' worth of
calls: the request itself plus handing the batch over. A flush that unpacked the batch in the
serving process (MLflow's parser, pandas, for each request) makes thousands of calls per request.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from iris_mlops.data import FEATURE_COLUMNS, load_iris_frame
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.params import TaskParameters
from mlops_framework.served_writer import ServedRequestRecorder
from mlops_framework.serving import ServingEndpointApp, champion_app, invocations_path

HERE = Path(__file__).parent
PATH = invocations_path("iris-dev")
BODY = {
    "dataframe_split": load_iris_frame().loc[[0], list(FEATURE_COLUMNS)].to_dict(orient="split", index=False)
}
BATCH = 50
WAIT_SECONDS = 60  # only for the writer process to start and reach its write: never asserted on


class HeldWrite:
    """A table write that says it started, then waits for the test to release it (in the writer)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, rows: pd.DataFrame) -> None:
        (self.folder / "writing").touch()
        while not (self.folder / "release").exists():
            time.sleep(0.01)
        rows.to_json(self.folder / "written.json", orient="records")


@contextmanager
def python_calls_off_this_thread() -> Iterator[Counter[int]]:
    """Python and C calls per thread, in threads started inside the block."""
    calls: Counter[int] = Counter()

    def count(frame: FrameType, event: str, arg: Any) -> None:
        if event in {"call", "c_call"}:
            calls[threading.get_ident()] += 1

    threading.setprofile(count)  # type: ignore[arg-type]
    try:
        yield calls
    finally:
        threading.setprofile(None)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "the writer process never reached its write"
        time.sleep(0.01)


@pytest.fixture
def held(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServingEndpointApp]:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), *sys.path]))  # HeldWrite, unpickled
    follower = champion_app(TaskParameters(), poll_seconds=0, project=IRIS, record=False).follower
    recorder = ServedRequestRecorder(HeldWrite(tmp_path), IRIS, flush_seconds=0)
    app = ServingEndpointApp(follower, "iris-dev", recorder=recorder)
    recorder.start()
    try:
        yield app
    finally:
        (tmp_path / "release").touch()
        recorder.stop()


def test_a_request_during_a_flush_does_not_pay_for_the_flush(
    held: ServingEndpointApp, tmp_path: Path
) -> None:
    recorder = held.recorder
    assert recorder is not None
    assert recorder.writer_pid not in {None, os.getpid()}  # the write is another process's work
    client = TestClient(held)

    with python_calls_off_this_thread() as calls:
        assert client.post(PATH, json=BODY).status_code == 200
    one_request = sum(calls.values())
    for _ in range(BATCH - 1):
        assert client.post(PATH, json=BODY).status_code == 200

    flushed: list[int] = []
    with python_calls_off_this_thread() as calls:
        flusher = threading.Thread(target=lambda: flushed.append(recorder.flush()))
        flusher.start()
        wait_for((tmp_path / "writing").exists)
        answer = client.post(PATH, json=BODY)  # answered while the writer is inside its write
        assert answer.status_code == 200
        assert flusher.is_alive()  # the flush is still waiting for the write: the request did not
    during_a_flush = sum(calls.values())
    assert during_a_flush < 2 * one_request, (during_a_flush, one_request)

    (tmp_path / "release").touch()
    flusher.join(WAIT_SECONDS)
    assert flushed == [BATCH]
    assert len(json.loads((tmp_path / "written.json").read_text())) == BATCH
    assert recorder.flush() == 1  # the request answered during the flush is in the next one


def test_a_writer_that_dies_in_a_write_loses_that_batch_in_the_log_never_in_a_request(
    held: ServingEndpointApp, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = held.recorder
    assert recorder is not None
    client = TestClient(held)
    assert client.post(PATH, json=BODY).status_code == 200
    flushed: list[int] = []
    with caplog.at_level(logging.ERROR, logger="iris_mlops"):
        flusher = threading.Thread(target=lambda: flushed.append(recorder.flush()))
        flusher.start()
        wait_for((tmp_path / "writing").exists)
        pid = recorder.writer_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        flusher.join(WAIT_SECONDS)
    assert flushed == [0]
    assert "1 served requests not recorded" in caplog.text
    (tmp_path / "release").touch()
    assert client.post(PATH, json=BODY).status_code == 200
    assert recorder.flush() == 1  # a new writer process took over
    assert recorder.writer_pid not in {None, pid}


def test_a_champion_check_costs_the_server_less_than_one_request(trained: Path) -> None:
    """The champion follower's check (one registry read every POLL_SECONDS, in a thread of the
    serving process) is less work than one request, so a request that waits for it waits less than
    its own cost. Loading a new champion is the follower's only bigger work, once per deploy."""
    app = champion_app(TaskParameters(), poll_seconds=0, project=IRIS, record=False)
    client = TestClient(app)
    assert client.post(PATH, json=BODY).status_code == 200  # first-call imports and caches
    with python_calls_off_this_thread() as calls:
        assert client.post(PATH, json=BODY).status_code == 200
    one_request = sum(calls.values())

    moved: list[bool] = []
    with python_calls_off_this_thread() as calls:
        checker = threading.Thread(target=lambda: moved.append(app.follower.refresh()))
        checker.start()
        checker.join(WAIT_SECONDS)
    one_check = sum(calls.values())
    assert moved == [False]  # the alias did not move: a check, not a load
    assert 0 < one_check < one_request, (one_check, one_request)
