"""Fixtures of the Databricks component tests: a synthetic wheel and the workloads planned per
environment with literal inputs, once per session (several modules assert on the same plans)."""

from __future__ import annotations

from pathlib import Path

import pytest
from databricks_fixtures.program import plan
from databricks_fixtures.wheels import build_wheel
from iris_mlops.data import PREDICTIONS_TABLE

from core.environment import Environment
from stacks.offline import OfflineRun, WorkspaceState


@pytest.fixture(scope="session")
def wheel_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def runs(wheel_path: Path) -> dict[Environment, OfflineRun]:
    return {env: plan(env, wheel_path) for env in Environment}


CHAMPION_VERSION = 3


@pytest.fixture(scope="session")
def trained_runs(wheel_path: Path) -> dict[Environment, OfflineRun]:
    """The same environments after a training and a batch run: a champion, a predictions table."""
    workspace = WorkspaceState(champion_version=CHAMPION_VERSION, tables=(PREDICTIONS_TABLE,))
    return {env: plan(env, wheel_path, workspace=workspace) for env in Environment}
