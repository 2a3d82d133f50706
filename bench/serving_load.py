"""`iris-mlops serve` side by side with `mlflow models serve`: the same champion, one worker each,
on loopback, at 1, 8, 32 and 64 concurrent clients.

Each client is a keep-alive connection sending a bounded number of one-row requests, one after
the other (an asyncio loop in this process: light enough that the servers, not the clients, are
measured). Reported per level: throughput as time per request (1 / requests per second, so that
below 1x means faster, as every row of `make bench`), and the p99 latency.

`python -m bench.serving_load` prints the full table (req/s, p50, p99 of both) for a closing note.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from iris_mlops.data import FEATURE_COLUMNS, load_iris_frame
from iris_mlops.serving import invocations_path
from iris_mlops.serving_launch import free_port, serve_in_subprocess, wait_until_ready

from bench.measurement import Measurement

HOST = "127.0.0.1"
CLIENTS = (1, 8, 32, 64)
REQUESTS_PER_LEVEL = 640  # split evenly over the clients of a level
WARMUP_REQUESTS = 50
MODEL = "main.iris.iris_classifier"
_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Level:
    server: str
    clients: int
    seconds: float
    latencies: tuple[float, ...]

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds

    def quantile(self, percent: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[percent - 1]


def request_bytes(path: str) -> bytes:
    row = load_iris_frame().loc[[0], list(FEATURE_COLUMNS)]
    body = json.dumps({"dataframe_split": row.to_dict(orient="split", index=False)}).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer bench\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _client(port: int, request: bytes, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        for _ in range(count):
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = _LENGTH.search(head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _level(port: int, request: bytes, clients: int, total: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, request, total // clients, latencies) for _ in range(clients)))
    return time.perf_counter() - started, latencies


def measure(server: str, port: int, path: str, clients: int) -> Level:
    request = request_bytes(path)
    asyncio.run(_level(port, request, 1, WARMUP_REQUESTS))
    seconds, latencies = asyncio.run(_level(port, request, clients, REQUESTS_PER_LEVEL))
    return Level(server, clients, seconds, tuple(latencies))


@contextmanager
def mlflow_models_serve(env: Mapping[str, str]) -> Iterator[int]:
    port = free_port(HOST)
    command = [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{MODEL}@champion",
        "--env-manager", "local", "-h", HOST, "-p", str(port), "--workers", "1",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_ready(HOST, port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def compare(home: Path) -> list[Level]:
    """Both servers on the champion in `home`; levels measured alternately, MLflow's first."""
    env = {
        **os.environ,
        "IRIS_MLOPS_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
        # `mlflow models serve` execs `uvicorn` from PATH: this interpreter's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    ours_path = invocations_path("iris-dev")
    levels: list[Level] = []
    with (
        open(os.devnull, "wb") as quiet,
        serve_in_subprocess(env=env, output=quiet) as url,
        mlflow_models_serve(env) as port,
    ):
        ours_port = int(url.rsplit(":", 1)[1])
        for clients in CLIENTS:
            levels.append(measure("mlflow models serve", port, "/invocations", clients))
            levels.append(measure("iris-mlops serve", ours_port, ours_path, clients))
    return levels


def serving_measurements(home: Path) -> list[Measurement]:
    levels = compare(home)
    rows = []
    for clients in CLIENTS:
        ours, plain = (
            next(lv for lv in levels if lv.server == s and lv.clients == clients) for s in _SERVERS
        )
        rows.append(
            Measurement(
                f"serve: time per request (1/throughput), {clients} clients",
                1000 / ours.per_second,
                "mlflow models serve",
                1000 / plain.per_second,
                unit="ms",
            )
        )
        rows.append(
            Measurement(
                f"serve: p99 latency, {clients} clients",
                ours.quantile(99) * 1000,
                "mlflow models serve",
                plain.quantile(99) * 1000,
                unit="ms",
            )
        )
    return rows


_SERVERS = ("iris-mlops serve", "mlflow models serve")


def main() -> None:
    """Train once in a throwaway home, then print both servers' figures side by side."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    from bench.ml import local_home, trained_home  # noqa: PLC0415

    with local_home() as home:
        trained_home()
        levels = compare(home)
    table = Table(title="serving on loopback, one worker each, one-row requests")
    for column in ("clients", "server", "req/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for level in levels:
        table.add_row(
            str(level.clients),
            level.server,
            f"{level.per_second:.0f}",
            f"{level.quantile(50) * 1000:.1f}",
            f"{level.quantile(99) * 1000:.1f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
