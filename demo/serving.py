"""Serve the champion from the job venv, score one Databricks-shaped request, stop the server."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from iris_mlops.data import FEATURE_COLUMNS

from demo.job_env import JobEnvironment
from demo.runner import StageError

READY_TIMEOUT_SECONDS = 60.0
# Two Iris flowers in the request shape a Databricks serving endpoint takes.
SAMPLE_REQUEST: dict[str, Any] = {
    "dataframe_split": {
        "columns": list(FEATURE_COLUMNS),
        "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]],
    }
}


@dataclass(frozen=True)
class Exchange:
    base_url: str
    path: str
    request: dict[str, Any]
    response: dict[str, Any]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def score_once(environment: JobEnvironment, cwd: Path, env: str, port: int | None = None) -> Exchange:
    port = port or free_port()
    base_url, path = f"http://127.0.0.1:{port}", f"/serving-endpoints/iris-{env}/invocations"
    log = environment.home / "serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as output:
        server = subprocess.Popen(  # noqa: S603 - the wheel's own console script, fixed argv
            [str(environment.script("iris-mlops")), "serve", f"--port={port}", f"--env={env}"],
            cwd=cwd,
            env=environment.environ(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            _wait_until_listening(server, port, log)
            # A client written for Databricks sends a bearer token; the local server accepts it.
            answer = client.post(path, json=SAMPLE_REQUEST, headers={"Authorization": "Bearer demo-token"})
        if answer.status_code != httpx.codes.OK:
            raise StageError(f"POST {path} answered {answer.status_code}: {answer.text[:300]}")
        return Exchange(base_url, path, SAMPLE_REQUEST, answer.json())
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_until_listening(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            error = log.read_text(encoding="utf-8").strip()[-500:]
            raise StageError(f"the serving process exited with {server.returncode} ({log}): {error}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise StageError(f"the serving process did not listen on port {port} within {READY_TIMEOUT_SECONDS:.0f}s")
