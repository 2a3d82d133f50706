"""Shared fixtures for the ml wheel tests: one MLflow/Delta home per session, one trained model.

A fresh SQLite store runs its migrations on first touch, so the whole session shares one home;
tests that change registry state use their own `schema`, which gives them their own tables and
their own registered model inside the same store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from iris_mlops.job_graph import load_job_graph
from iris_mlops.runner import run_job

REPO = Path(__file__).resolve().parents[2]
UV = os.environ.get("UV") or str(REPO / ".tools/uv/bin/uv")
SOURCE_DATE_EPOCH = "315532800"  # the Makefile's, so test builds match `make wheel`
TEST_COMMIT = "0123456789abcdef0123456789abcdef01234567"


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


def build_wheel(out_dir: Path) -> Path:
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "UV_PYTHON_DOWNLOADS": "never"}
    command = [UV, "build", "--quiet", "--wheel", "--no-build-isolation", "--python", sys.executable]
    subprocess.run([*command, "--out-dir", str(out_dir), str(REPO / "ml")], check=True, env=env)
    (wheel,) = out_dir.glob("iris_mlops-*.whl")
    return wheel


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built once per session from the current source (dist/ may be stale)."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))
