"""Run a task in a child process on a home of its own: killed at a named point
(MLOPS_KILL_AT), or several at once, without paying seconds of imports per process.

Children come from a multiprocessing *forkserver* that imported mlflow, scikit-learn and the wheel
once (fault_preload.py): a plain fork of the test process is not safe (deltalake's tokio runtime
panics in a child forked after the parent used it, and SQLite connections must not cross a fork).
So what a child runs is one of the module-level functions below, named with its arguments, and
what a test checks in a child's store is read by a child too and comes back as plain values
through a pipe.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from iris_mlops.project import PROJECT as IRIS
from ml_support import ONE_BLAS_THREAD, TEST_COMMIT
from mlops_framework.faults import KILL_AT_ENV_VAR

HERE = Path(__file__).parent
CHILD_TIMEOUT_SECONDS = 120
MEETING_TIMEOUT_SECONDS = CHILD_TIMEOUT_SECONDS / 2  # a child left waiting says so before it is killed
PRELOAD = ["fault_preload", "fault_support"]
# What every child would import otherwise: fault_preload.py imports it in the server.
PRELOADED = (
    "mlops_framework.runner",
    "mlops_framework.context",
    "mlops_framework.serving",
    "mlops_framework.entrypoints",
    "mlops_framework.backends.local",
    "mlops_framework.recovery",
    "mlops_framework.steps.ingest",
    "mlops_framework.steps.train",
    "mlops_framework.steps.evaluate",
    "mlops_framework.steps.approve",
    "mlops_framework.steps.deploy",
    "mlops_framework.steps.batch_inference",
    "mlflow.sklearn",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "sklearn.linear_model",
    "skops.io",
    "alembic.command",
    "git",
)
_SERVER = multiprocessing.get_context("forkserver")
_SERVER.set_forkserver_preload(PRELOAD)


def start_server() -> None:
    """Start the forkserver now: it imports PRELOAD (seconds) while other tests run.

    Python 3.11's forkserver is handed the parent's sys.path but never sets it
    (multiprocessing/forkserver.py, `main`), and skips a preload module it cannot import without a
    word: it finds this folder's modules through PYTHONPATH, set only while it starts."""
    from multiprocessing import forkserver  # noqa: PLC0415

    paths = [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
    with _environment({"PYTHONPATH": os.pathsep.join(paths), **ONE_BLAS_THREAD}):
        forkserver.ensure_running()


@contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class Outcome:
    exitcode: int | None  # -9: killed at the named point
    value: Any = None
    error: str | None = None  # "<ExceptionType>: <message>"


class Child:
    def __init__(
        self, function: Callable[..., Any], arguments: Sequence[Any], home: Path, kill_at: str | None
    ) -> None:
        start_server()  # returns at once while it runs
        self._reader, writer = _SERVER.Pipe(duplex=False)
        self._process: BaseProcess = _SERVER.Process(
            target=_child_main, args=(function, tuple(arguments), str(home), kill_at, writer)
        )
        self._process.start()
        writer.close()

    def outcome(self) -> Outcome:
        self._process.join(CHILD_TIMEOUT_SECONDS)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
            raise AssertionError(f"child still running after {CHILD_TIMEOUT_SECONDS} s")
        try:
            kind, payload = self._reader.recv()
        except EOFError:  # killed before it could say anything
            kind, payload = "none", None
        code = self._process.exitcode
        if kind == "ok":
            return Outcome(code, value=payload)
        return Outcome(code, error=payload) if kind == "error" else Outcome(code)


def _child_main(
    function: Callable[..., Any],
    arguments: tuple[Any, ...],
    home: str,
    kill_at: str | None,
    writer: Connection,
) -> None:
    os.environ.update({"MLOPS_HOME": home, "MLOPS_BACKEND": "local", "MLOPS_GIT_COMMIT": TEST_COMMIT})
    os.environ.pop("DATABRICKS_RUNTIME_VERSION", None)
    os.environ.pop(KILL_AT_ENV_VAR, None)
    if kill_at is not None:
        os.environ[KILL_AT_ENV_VAR] = kill_at
    try:
        writer.send(("ok", function(*arguments)))
    except BaseException as error:  # noqa: BLE001 - reported to the test, which asserts on it
        writer.send(("error", f"{type(error).__name__}: {error}"))
        raise SystemExit(1) from None


def in_child(
    function: Callable[..., Any], *arguments: Any, home: Path, kill_at: str | None = None
) -> Outcome:
    return Child(function, arguments, home, kill_at).outcome()


def at_once(calls: Sequence[tuple[Callable[..., Any], tuple[Any, ...]]], home: Path) -> list[Outcome]:
    children = [Child(function, arguments, home, None) for function, arguments in calls]
    return [child.outcome() for child in children]


def meeting(parties: int) -> Any:
    """A barrier the children of one `at_once` can wait at (handed to each as an argument)."""
    return _SERVER.Barrier(parties)


# -- what a child runs ------------------------------------------------------------------------------


def not_preloaded() -> list[str]:
    """What the server should have imported and this child did not inherit."""
    import sys  # noqa: PLC0415

    return [name for name in ("fault_preload", *PRELOADED) if name not in sys.modules]


def training(*arguments: str) -> list[tuple[str, str, str]]:
    from mlops_framework.job_graph import load_job_graph  # noqa: PLC0415 - preloaded in the server
    from mlops_framework.runner import run_job  # noqa: PLC0415

    report = run_job(load_job_graph(IRIS.package).job("training"), list(arguments), project=IRIS)
    return [(outcome.key, str(outcome.status), outcome.detail) for outcome in report.outcomes]


def task(entry_point: str, *arguments: str) -> str:
    """One task through its console-script entry point, as Databricks runs it."""
    from mlops_framework.entrypoints import run_task  # noqa: PLC0415

    run_task(entry_point, list(arguments), IRIS)
    return "ok"


def batch() -> bool:
    from mlops_framework.job_graph import load_job_graph  # noqa: PLC0415
    from mlops_framework.runner import run_job  # noqa: PLC0415

    return run_job(load_job_graph(IRIS.package).job("batch_inference"), project=IRIS).succeeded


def context(task: str = "check") -> Any:
    from mlops_framework.backends.local import LocalBackend  # noqa: PLC0415
    from mlops_framework.context import TaskContext  # noqa: PLC0415
    from mlops_framework.params import TaskParameters  # noqa: PLC0415

    return TaskContext.create(task, TaskParameters(), LocalBackend.from_environ(os.environ), IRIS)


def inspect_together_then_log(meet: Any, run_name: str) -> list[str]:
    """Open the store once every child of `meet` has inspected it, log a run, and list the runs
    every child logged (waiting for them all): what each child sees of one another's store.

    The children meet where the store check has read the store and is about to compare its
    revision with MLflow's (the first `store._head_revision` call): each has seen what the others
    saw, so each would decide the same repair on it."""
    from mlops_framework import store  # noqa: PLC0415

    head_revision = store._head_revision  # the meeting point, replaced in this child only
    met: list[bool] = []

    def meet_then_head_revision() -> str:
        if not met:
            met.append(True)
            meet.wait(MEETING_TIMEOUT_SECONDS)
        return head_revision()

    store._head_revision = meet_then_head_revision
    try:
        client = context().client
        run = client.create_run("0", run_name=run_name)
        client.set_terminated(run.info.run_id)
    except BaseException:
        meet.abort()  # the others stop waiting for this child at once (BrokenBarrierError)
        raise
    meet.wait(MEETING_TIMEOUT_SECONDS)  # every child has logged its run
    return sorted(str(seen.info.run_name) for seen in client.search_runs(["0"]))


def model_name() -> str:
    return str(context().model_name)


def registry_state() -> dict[str, Any]:
    """Run statuses (with the interrupted reason), versions with their tags, the two aliases."""

    ctx = context()
    experiment = ctx.client.get_experiment_by_name(ctx.params.resolved_experiment_name)
    runs = ctx.client.search_runs([experiment.experiment_id]) if experiment else []
    versions = ctx.client.search_model_versions(f"name='{ctx.model_name}'")
    return {
        "runs": [(run.info.status, run.data.tags.get(IRIS.tags.interrupted)) for run in runs],
        "versions": {str(v.version): dict(v.tags) for v in versions},
        "aliases": {
            alias: getattr(ctx.alias_version(alias), "version", None) for alias in ("challenger", "champion")
        },
    }


def front_door(argv: list[str], environ: dict[str, str]) -> int:
    """`iris-mlops <argv>` as its console script runs it (iris_mlops.project:SCRIPTS.cli), in `environ`."""
    from iris_mlops.project import SCRIPTS  # noqa: PLC0415

    os.environ.clear()
    os.environ.update(environ)
    try:
        SCRIPTS.cli(argv)
    except SystemExit as exited:
        return exited.code if isinstance(exited.code, int) else 1
    return 0


def batch_step() -> str:
    from mlops_framework.steps.batch_inference import batch_inference  # noqa: PLC0415

    return batch_inference(context("batch-inference"))


def serve_champion() -> str:
    from mlops_framework.params import TaskParameters  # noqa: PLC0415
    from mlops_framework.serving import champion_app  # noqa: PLC0415

    return champion_app(TaskParameters(), poll_seconds=0, project=IRIS).follower.served.version


def as_nobody(home: str) -> None:
    """Configure the backend as a user who cannot write the home (root writes anywhere)."""
    from mlops_framework.backends.local import LocalBackend  # noqa: PLC0415

    if os.geteuid() == 0:
        os.setuid(65534)
    LocalBackend(Path(home)).configure_mlflow()
