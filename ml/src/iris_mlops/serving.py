"""Local real-time serving: the champion behind MLflow's own scoring server (its FastAPI app),
reachable at the path and with the request/response JSON of a Databricks serving endpoint.

Only the routing is ours: `/serving-endpoints/<name>/invocations` is forwarded to the scoring
server's `/invocations`; every other path gets a Databricks-style 404 JSON. Bearer tokens are
accepted and ignored (nothing checks auth locally).
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO, Any

import mlflow
import uvicorn
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel, scoring_server
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from iris_mlops.backends import select_backend
from iris_mlops.context import CHAMPION
from iris_mlops.errors import IrisMlopsError, MissingStateError
from iris_mlops.params import TaskParameters

HEALTH_PATHS = frozenset({"/ping", "/health", "/version"})
READY_TIMEOUT_SECONDS = 60.0


def invocations_path(endpoint_name: str) -> str:
    return f"/serving-endpoints/{endpoint_name}/invocations"


class ServingEndpointRoutes:
    """ASGI app mapping the Databricks serving path onto the MLflow scoring server app."""

    def __init__(self, scoring_app: ASGIApp, endpoint_name: str) -> None:
        self.scoring_app = scoring_app
        self.endpoint_name = endpoint_name
        self.path = invocations_path(endpoint_name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == self.path:
                scope = {**scope, "path": "/invocations", "raw_path": b"/invocations"}
            elif path not in HEALTH_PATHS:
                message = f"{path} not found; this server serves {self.path}"
                body = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message}
                await JSONResponse(body, status_code=404)(scope, receive, send)
                return
        await self.scoring_app(scope, receive, send)


def build_app(model: PyFuncModel, endpoint_name: str) -> ServingEndpointRoutes:
    return ServingEndpointRoutes(scoring_server.init(model), endpoint_name)


def champion_app(params: TaskParameters) -> ServingEndpointRoutes:
    """The app for the champion of `catalog.schema.model_name` on the selected backend."""
    select_backend().configure_mlflow()
    model_name = f"{params.catalog}.{params.schema}.{params.model_name}"
    try:
        model = mlflow.pyfunc.load_model(f"models:/{model_name}@{CHAMPION}")
    except MlflowException as error:
        raise MissingStateError(
            f"cannot load {model_name}@{CHAMPION}: {error.message}; run the training job first"
        ) from error
    return build_app(model, params.resolved_endpoint_name)


def serve_forever(app: ASGIApp, host: str, port: int) -> None:
    uvicorn.run(app, host=host, port=port, log_level="info")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` from a background thread; yields the base URL, stops cleanly on exit."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="iris-mlops-serving", daemon=True)
    thread.start()
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise IrisMlopsError(f"the serving thread did not start on {host}:{port}")
        time.sleep(0.01)
    bound: Any = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{host}:{bound[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_in_subprocess(
    arguments: Sequence[str] = (),
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    output: IO[bytes] | None = None,
) -> Iterator[str]:
    """Run `iris-mlops serve` as a child process on a free port; yields the base URL once ready.

    ``python`` picks the interpreter (and so the installed wheel), e.g. an isolated job venv's.
    """
    port = port or free_port(host)
    command = [python, "-m", "iris_mlops", "serve", f"--host={host}", f"--port={port}", *arguments]
    process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
        command, env=None if env is None else dict(env), stdout=output, stderr=output
    )
    url = f"http://{host}:{port}"
    try:
        _wait_until_ready(host, port, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ping(host: str, port: int) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=1.0)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def _wait_until_ready(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise IrisMlopsError(f"iris-mlops serve exited with code {process.returncode} before ready")
        if _ping(host, port):
            return
        time.sleep(0.1)
    raise IrisMlopsError(
        f"iris-mlops serve was not ready on {host}:{port} within {READY_TIMEOUT_SECONDS:.0f} s"
    )
