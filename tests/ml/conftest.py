"""Shared fixtures for the ml wheel tests: one MLflow/Delta home per session, one trained model.

A fresh SQLite store runs its migrations on first touch, so the whole session shares one home;
tests that change registry state use their own `schema`, which gives them their own tables and
their own registered model inside the same store.

The two projects' jobs from the venv holding both wheels (test_ml_projects.py, marker `e2e`) are
separate processes that need nothing from this one, so when their test is selected they start with
the first ml test and run beside the in-process tests; the test waits for them and checks the
result (side_by_side_runs).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from iris_mlops.project import PROJECT as IRIS
from ml_support import (
    IRIS_DIR,
    ONE_BLAS_THREAD,
    PROJECT_DIRS,
    TEST_COMMIT,
    SideBySideRuns,
    build_wheel,
    wheel_venv,
)
from mlops_framework.job_graph import load_job_graph
from mlops_framework.runner import run_job
from threadpoolctl import threadpool_limits

from demo.job_env import JobEnvironment

if TYPE_CHECKING:
    from databricks_workspace import Environment, FakeWorkspace


def _import_skops_io() -> None:
    """MLflow saves scikit-learn models with skops, whose import looks up ~900 numpy/scipy
    functions in every module of sys.modules. The root conftest has loaded the Pulumi providers,
    whose submodules are lazy (`pulumi._utils._LazyModule`): each lookup imports one in full,
    ~30 s in all. Nothing here uses them, so they are out of sys.modules for that one import."""
    lazy = {name: module for name, module in sys.modules.items() if type(module).__name__ == "_LazyModule"}
    for name in lazy:
        del sys.modules[name]
    try:
        import skops.io  # noqa: F401, PLC0415
    finally:
        sys.modules.update(lazy)


_import_skops_io()
# One BLAS thread for the in-process fits (ml_support.ONE_BLAS_THREAD says why); skops.io has
# loaded numpy's and scipy's OpenBLAS, which is what threadpoolctl limits.
threadpool_limits(limits=1, user_api="blas")


@pytest.fixture(scope="session", autouse=True)
def fault_children(request: pytest.FixtureRequest) -> None:
    """The forkserver of the fault tests and of the drift test's training job starts with the
    session when they are selected, so its imports run on the second core while other tests run
    (fault_support.py)."""
    users = ("test_ml_faults", "test_ml_monitor")
    if any(user in item.nodeid for item in request.session.items for user in users):
        from fault_support import start_server  # noqa: PLC0415

        start_server()


@pytest.fixture(scope="session")
def ml_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("iris_mlops_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLOPS_HOME", str(home))
        patch.setenv("MLOPS_BACKEND", "local")
        patch.setenv("MLOPS_GIT_COMMIT", TEST_COMMIT)
        patch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
        yield home


@pytest.fixture(scope="session")
def trained(ml_home: Path) -> Path:
    """The training and batch jobs run once, in-process, with default parameters."""
    graph = load_job_graph(IRIS.package)
    for job in ("training", "batch_inference"):
        report = run_job(graph.job(job), project=IRIS)
        assert report.succeeded, report.outcomes
    return ml_home


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built once per session from the current source (dist/ may be stale)."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def built_wheels(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every project's wheel (by project name), built once per session; Iris's is `built_wheel`."""
    return {
        folder.name: built_wheel
        if folder == IRIS_DIR
        else build_wheel(tmp_path_factory.mktemp(folder.name), folder)
        for folder in PROJECT_DIRS
    }


@pytest.fixture(scope="session")
def wheel_env(built_wheels: dict[str, Path], job_venvs: Path) -> Path:
    """A venv holding Iris's built wheel, diabetes's beside it, and ml/framework/requirements.lock,
    nothing else (see `wheel_venv`): two projects installed together, as a shared environment."""
    return wheel_venv(built_wheels["iris"], job_venvs, beside=[built_wheels["diabetes"]])


@pytest.fixture(scope="session", autouse=True)
def side_by_side_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SideBySideRuns | None]:
    """Iris's and diabetes's jobs from the venv holding both wheels (test_ml_projects.py): separate
    processes that need nothing from this one, so they start with the first ml test and run beside
    the in-process tests; the test waits for them and checks what they wrote."""
    if not any(
        "test_two_projects_wheels_installed_side_by_side" in item.nodeid for item in request.session.items
    ):
        yield None
        return
    work = tmp_path_factory.mktemp("side_by_side")
    environment = JobEnvironment(venv=request.getfixturevalue("wheel_env"), home=work / "home")
    environ = environment.environ(ONE_BLAS_THREAD)
    logs = {project: work / f"{project}.log" for project in ("iris", "diabetes")}
    runs: dict[str, subprocess.Popen[bytes]] = {}
    for project, log in logs.items():  # at once; output to a file, which never fills up as a pipe can
        with log.open("w") as output:
            runs[project] = subprocess.Popen(
                [str(environment.script(f"{project}-mlops")), "run", "training", "batch-inference"],
                cwd=work,
                env=environ,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
    try:
        yield SideBySideRuns(environment, runs, logs)
    finally:
        for run in runs.values():
            if run.poll() is None:
                run.kill()
            run.wait()


# ----------------------------------------------------------------- the fake Databricks workspace


@pytest.fixture(scope="session")
def fake_workspace() -> Iterator[FakeWorkspace]:
    """One workspace per session (a loopback REST server: databricks_workspace.py)."""
    from databricks_workspace import FakeWorkspace  # noqa: PLC0415 - only the Databricks tests start it

    workspace = FakeWorkspace()
    yield workspace
    workspace.close()


@pytest.fixture
def workspace(
    tmp_path_factory: pytest.TempPathFactory,
    fake_workspace: FakeWorkspace,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Environment]]:
    """Environments on the fake workspace, each in its own schema named after the test; every task
    selects the Databricks backend on the latest one and calls the workspace as the job principal."""
    import databricks.sdk.service.serving  # noqa: PLC0415
    import mlflow.sklearn  # noqa: PLC0415
    import mlops_framework.backends  # noqa: PLC0415
    from databricks_workspace import JOBS, Environment  # noqa: PLC0415

    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    monkeypatch.setenv("MLOPS_BACKEND", "databricks")
    for key, value in fake_workspace.environ(JOBS).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLOPS_GIT_COMMIT", raising=False)
    # What MLflow does on a Databricks runtime: its default sklearn format there is cloudpickle.
    monkeypatch.setattr(mlflow.sklearn, "is_in_databricks_runtime", lambda: True)
    # The SDK's waiter sleeps between polls of the endpoint; the fake needs no wall-clock time.
    no_sleep = SimpleNamespace(time=time.time, sleep=lambda _: None)
    monkeypatch.setattr(databricks.sdk.service.serving, "time", no_sleep)
    home = tmp_path_factory.getbasetemp() / "databricks"
    home.mkdir(exist_ok=True)

    def make(env: str = "dev", suffix: str = "", **fields: Any) -> Environment:
        """`fields`: the Environment's own (schema, catalog, clock); the schema is the test's name
        unless given."""
        schema = f"{request.node.name.removeprefix('test_')[:40]}{suffix}".replace("-", "_")
        environment = Environment(home, env, fields.pop("schema", schema), fake_workspace, **fields)
        monkeypatch.setattr(mlops_framework.backends, "select_backend", lambda: environment.backend)
        return environment

    yield make
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry)
