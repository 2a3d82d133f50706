"""Shared fixtures for the ml wheel tests: one MLflow/Delta home per session, one trained model.

A fresh SQLite store runs its migrations on first touch, so the whole session shares one home;
tests that change registry state use their own `schema`, which gives them their own tables and
their own registered model inside the same store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from iris_mlops.job_graph import load_job_graph
from iris_mlops.runner import run_job
from ml_support import TEST_COMMIT, build_wheel


@pytest.fixture(scope="session")
def ml_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("iris_mlops_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IRIS_MLOPS_HOME", str(home))
        patch.setenv("IRIS_MLOPS_BACKEND", "local")
        patch.setenv("IRIS_MLOPS_GIT_COMMIT", TEST_COMMIT)
        patch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
        yield home


@pytest.fixture(scope="session")
def trained(ml_home: Path) -> Path:
    """The training and batch jobs run once, in-process, with default parameters."""
    graph = load_job_graph()
    for job in ("training", "batch_inference"):
        report = run_job(graph.job(job))
        assert report.succeeded, report.outcomes
    return ml_home


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built once per session from the current source (dist/ may be stale)."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))
