"""The per-model training lock: one training job per model and home at a time.

Contract (docs/ml.md, "Concurrent runs"): train, evaluate, approve and deploy move the model's
`challenger` and `champion` aliases, so two trainings of one model must not interleave. Locally the
runner holds the lock for the whole training job and each such task takes it for itself (a task run
on its own); a second training fails at once with "another training ... is running (pid, since)".
On Databricks the job's `max_concurrent_runs = 1` (job_graph.toml) gives the same guarantee.

The lock is `fcntl.flock` on `<home>/locks/<model>.lock`: the kernel releases it when the holder
exits, even on SIGKILL, so no stale lock ever needs a manual repair. The file records the holder's
pid and start time for the message. Nested takes in one process are free; a child started by the
holding runner (`--isolation=process`) is told so through HELD_BY_PARENT_ENV_VAR.

The same kernel lock, waited for (bounded) instead of refused, makes the writers of one Delta table
take turns (`table_write_lock`) and lets one process at a time repair the MLflow store
(`store_repair_lock`, store.py).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import BusyError, StateError

HELD_BY_PARENT_ENV_VAR = "MLOPS_TRAINING_LOCK_HELD_BY"
# A table write takes seconds; a writer that holds one longer than this is stuck, not busy.
TABLE_LOCK_WAIT_SECONDS = 300.0
TABLE_LOCK_POLL_SECONDS = 0.05
_held: dict[Path, int] = {}  # lock path -> nesting depth in this process


def lock_path(home: Path, model_name: str) -> Path:
    return home / "locks" / f"{model_name}.lock"


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    try:
        holder = json.loads(handle.read() or "{}")
    except ValueError:
        return "unknown holder"
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(holder.get("since", 0))))
    return f"pid {holder.get('pid', '?')}, since {since}"


@contextmanager
def training_lock(home: Path, model_name: str) -> Iterator[None]:
    path = lock_path(home, model_name)
    if path in _held or os.environ.get(HELD_BY_PARENT_ENV_VAR) == f"{os.getppid()}:{path}":
        _held[path] = _held.get(path, 0) + 1
        try:
            yield
        finally:
            _held[path] -= 1
            if not _held[path]:
                del _held[path]
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(
                f"another training of {model_name} is running ({_holder(handle)}); wait for it to "
                f"finish (lock {path}, released when that process ends)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "since": time.time()}))
        handle.flush()
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            fcntl.flock(handle, fcntl.LOCK_UN)


def child_environment(home: Path, model_name: str) -> dict[str, str]:
    """What a child task process needs to know that this process holds the lock for it."""
    return {HELD_BY_PARENT_ENV_VAR: f"{os.getpid()}:{lock_path(home, model_name)}"}


@contextmanager
def table_write_lock(home: Path, table: str) -> Iterator[None]:
    """One writer of a local Delta table at a time; the next one waits its turn (bounded).

    Two MERGEs that only insert (two batch inferences scoring the same rows with a new champion)
    can both commit under deltalake's conflict rules, which leaves every row twice. Serialising the
    writers of one home makes each MERGE see the other's rows. Same kernel lock as the training lock:
    released when the holder dies, so a killed writer never blocks the next.
    """
    path = home / "locks" / f"table-{table}.lock"
    with _waited_lock(path, TABLE_LOCK_WAIT_SECONDS, f"table {table}: another writer"):
        yield


@contextmanager
def store_repair_lock(home: Path) -> Iterator[None]:
    """One process at a time decides whether the home's MLflow store needs a repair, and does it.

    Two processes that found the same half-built store would otherwise both move it aside: the
    second move fails, or moves aside the store the first one has just built and writes into
    (store.py). A repair takes about a second (MLflow's migrations), so the next one waits; one held
    past TABLE_LOCK_WAIT_SECONDS is named, as for the table writers.
    """
    path = home / "locks" / "mlflow-store-repair.lock"
    with _waited_lock(path, TABLE_LOCK_WAIT_SECONDS, "the MLflow store: another process repairing it"):
        yield


@contextmanager
def _waited_lock(path: Path, wait_seconds: float, who: str) -> Iterator[None]:
    """`fcntl.flock` on `path`, waited for up to `wait_seconds`; the holder's pid recorded in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    with path.open("a+", encoding="utf-8") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StateError(
                        f"{who} has held {path} for over {wait_seconds:.0f} s "
                        f"({_holder(handle)}); stop that process, or wait for it, and run the task again"
                    ) from None
                time.sleep(TABLE_LOCK_POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "since": time.time()}))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
