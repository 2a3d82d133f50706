"""`iris-mlops serve` side by side with `mlflow models serve`: the same champion, one worker each,
on loopback, at 1, 8, 32 and 64 concurrent clients; ours twice, recording served requests (the
default) and with `--no-record`.

Each client is a keep-alive connection sending one-row requests one after the other for
LEVEL_SECONDS (an asyncio loop in this process: light enough that the servers, not the clients,
are measured). A level lasts long enough to cover two of the recorder's flushes (every 5 s) and
five of the champion follower's alias checks (every 2 s), so background work lands inside it. The
three servers run throughout; in each of ROUNDS rounds every level is measured on each server in
turn, the order rotating from round to round, so that all see the same machine load.

Reported per level, as the median over rounds of that round's ratio: throughput as time per
request (1 / requests per second, so that below 1x means faster, as every row of `make bench`)
and the p99 latency, ours (recording) against `mlflow models serve`, and ours recording against
ours not recording (what the recorder costs).

Duration: 4 levels x 3 servers x 3 rounds x 10 s = 6 minutes, plus about 30 s of start-up: the
longest part of `make bench`, and the only one that sees the tail.
`python -m bench.serving_load` prints every round (req/s, p50, p99) and the medians.
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
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from iris_mlops.data import FEATURE_COLUMNS, load_iris_frame
from mlops_framework.serving import invocations_path
from mlops_framework.serving_launch import free_port, serve_in_subprocess, wait_until_ready

from bench.local_state import local_home, trained_home
from bench.measurement import Measurement, render

HOST = "127.0.0.1"
CLIENTS = (1, 8, 32, 64)
LEVEL_SECONDS = 10.0
ROUNDS = 3
WARMUP_REQUESTS = 50
MODEL = "main.iris.iris_classifier"
MLFLOW = "mlflow models serve"
OURS = "iris-mlops serve"
OURS_NOT_RECORDING = "iris-mlops serve --no-record"
SERVERS = (MLFLOW, OURS, OURS_NOT_RECORDING)
_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Level:
    server: str
    clients: int
    round: int
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


async def _client(port: int, request: bytes, until: float, count: int, latencies: list[float]) -> None:
    """Requests one after the other until `until` (perf_counter) or `count` of them."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while count and time.perf_counter() < until:
            count -= 1
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


async def _level(
    port: int, request: bytes, clients: int, seconds: float, count: int = -1
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(*(_client(port, request, until, count, latencies) for _ in range(clients)))
    return time.perf_counter() - started, latencies


def measure(server: str, port: int, path: str, clients: int, round_: int) -> Level:
    request = request_bytes(path)
    asyncio.run(_level(port, request, 1, LEVEL_SECONDS, WARMUP_REQUESTS))
    seconds, latencies = asyncio.run(_level(port, request, clients, LEVEL_SECONDS))
    return Level(server, clients, round_, seconds, tuple(latencies))


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
    """The three servers on the champion in `home`; every level on each in turn, ROUNDS times."""
    env = {
        **os.environ,
        "MLOPS_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home}/mlflow.db",
        # `mlflow models serve` execs `uvicorn` from PATH: this interpreter's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    ours_path = invocations_path("iris-dev")
    levels: list[Level] = []
    with ExitStack() as stack:
        quiet = stack.enter_context(open(os.devnull, "wb"))
        targets = {
            MLFLOW: (stack.enter_context(mlflow_models_serve(env)), "/invocations"),
            OURS: (
                _port(stack.enter_context(serve_in_subprocess(env=env, output=quiet))),
                ours_path,
            ),
            OURS_NOT_RECORDING: (
                _port(stack.enter_context(serve_in_subprocess(["--no-record"], env=env, output=quiet))),
                ours_path,
            ),
        }
        for round_ in range(ROUNDS):
            order = SERVERS[round_ % len(SERVERS) :] + SERVERS[: round_ % len(SERVERS)]
            for clients in CLIENTS:
                for server in order:
                    port, path = targets[server]
                    levels.append(measure(server, port, path, clients, round_))
    return levels


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _pick(levels: list[Level], server: str, clients: int, round_: int) -> Level:
    return next(lv for lv in levels if (lv.server, lv.clients, lv.round) == (server, clients, round_))


def _row(levels: list[Level], what: str, clients: int, server: str, baseline: str) -> Measurement:
    """The median over rounds of ours / baseline, for time per request or p99 latency."""

    def figure(level: Level) -> float:
        return 1000 / level.per_second if what == "time" else level.quantile(99) * 1000

    rounds = range(ROUNDS)
    values = [figure(_pick(levels, server, clients, r)) for r in rounds]
    baselines = [figure(_pick(levels, baseline, clients, r)) for r in rounds]
    label = "time per request (1/throughput)" if what == "time" else "p99 latency"
    return Measurement(
        f"serve: {label}, {clients} clients",
        statistics.median(values),
        baseline,
        statistics.median(baselines),
        unit="ms",
        median_of_rounds=statistics.median(v / b for v, b in zip(values, baselines, strict=True)),
    )


def median_ratios(levels: list[Level]) -> list[Measurement]:
    """Ours against MLflow's at each level, then ours recording against ours not recording."""
    return [
        _row(levels, what, clients, OURS, baseline)
        for baseline in (MLFLOW, OURS_NOT_RECORDING)
        for clients in CLIENTS
        for what in ("time", "p99")
    ]


def serving_measurements(home: Path) -> list[Measurement]:
    return median_ratios(compare(home))


def main() -> None:
    """Train once in a throwaway home, then print every round and the median ratios."""
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    started = time.perf_counter()
    with local_home() as home:
        trained_home()
        levels = compare(home)
    table = Table(title="serving on loopback, one worker each, one-row requests")
    for column in ("round", "clients", "server", "req/s", "p50 ms", "p99 ms"):
        table.add_column(column, justify="right")
    for level in sorted(levels, key=lambda lv: (lv.clients, lv.round, lv.server)):
        table.add_row(
            str(level.round + 1),
            str(level.clients),
            level.server,
            f"{level.per_second:.0f}",
            f"{level.quantile(50) * 1000:.1f}",
            f"{level.quantile(99) * 1000:.1f}",
        )
    console = Console()
    console.print(table)
    console.print(render(median_ratios(levels), time.perf_counter() - started, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
