"""What the ML benches share: a throwaway local home (MLOPS_HOME) with Iris trained in it, so the
real `.local/` is never touched, and the timers they measure with."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from iris_mlops.project import PROJECT as IRIS
from mlops_framework.job_graph import load_job_graph
from mlops_framework.runner import run_job


@contextmanager
def local_home() -> Iterator[Path]:
    previous = os.environ.get("MLOPS_HOME")
    with tempfile.TemporaryDirectory(prefix="iris-bench-") as directory:
        os.environ["MLOPS_HOME"] = directory
        try:
            yield Path(directory)
        finally:
            if previous is None:
                os.environ.pop("MLOPS_HOME")
            else:
                os.environ["MLOPS_HOME"] = previous


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def best_of(action: Callable[[], object], repeats: int = 3) -> float:
    """The fastest of a few runs: scoring 100k rows takes milliseconds, so one run is noise."""
    return min(timed(action) for _ in range(repeats))


def trained_home() -> None:
    """The training job once, in-process, on the current MLOPS_HOME."""
    run_job(load_job_graph(IRIS.package).job("training"), project=IRIS)
