"""Running a serving app: uvicorn in this process, in a thread (tests) or `<cli> serve` as a child."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

import uvicorn
from starlette.types import ASGIApp

from .errors import IrisMlopsError
from .http_protocol import DrainingH11Protocol

# A ceiling, not a wait: readiness is polled, and a server that exits is reported at once. A
# server's start is seconds of imports; on a loaded 2-core machine (load 15) it took over 60 s.
READY_TIMEOUT_SECONDS = 180.0
MAX_CONCURRENT_REQUESTS = 128  # then 503: one client cannot hold every worker (docs/ml.md)


def server_config(
    app: ASGIApp, host: str, port: int, log_level: str, lifespan: Literal["on", "off"]
) -> uvicorn.Config:
    """uvicorn as `iris-mlops serve` runs it: h11 with the lingering 400 (http_protocol.py)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan=lifespan,
        http=DrainingH11Protocol,
        limit_concurrency=MAX_CONCURRENT_REQUESTS,
    )


def serve_forever(app: ASGIApp, host: str, port: int) -> None:
    uvicorn.Server(server_config(app, host, port, "info", "on")).run()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `app` from a background thread; yields the base URL, stops cleanly on exit."""
    server = uvicorn.Server(server_config(app, host, port, "warning", "off"))
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
    cli: str = "iris-mlops",
) -> Iterator[str]:
    """Run a project's `<cli> serve` (Iris's unless named) as a child process on a free port;
    yields the base URL once ready.

    ``python`` picks the interpreter (and so the installed wheel), e.g. an isolated job venv's.
    """
    port = port or free_port(host)
    script = str(Path(python).with_name(cli))  # the project's front door (ProjectSpec.cli) beside python
    command = [script, "serve", f"--host={host}", f"--port={port}", *arguments]
    process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
        command, env=None if env is None else dict(env), stdout=output, stderr=output
    )
    url = f"http://{host}:{port}"
    try:
        wait_until_ready(host, port, process)
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


def wait_until_ready(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
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
