"""Contract with the ML wheel actually built into dist/iris/ (``make unit`` builds it before pytest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from databricks_fixtures.program import plan

from core.environment import Environment
from infra.wheel import WheelContents, read_wheel

DIST = Path(__file__).resolve().parents[2] / "dist" / "iris"


@pytest.fixture(scope="module")
def built_wheel() -> WheelContents:
    return read_wheel(DIST)  # `make unit` builds it; a missing wheel fails, naming `make wheel`


def test_every_task_points_at_an_entry_point_of_the_built_wheel(built_wheel: WheelContents) -> None:
    tasks = [(job, task) for job, spec in built_wheel.graph.jobs.items() for task in spec.tasks]
    assert tasks
    missing = [
        f"{job}.{task.key}: {task.entry_point}"
        for job, task in tasks
        if task.entry_point not in built_wheel.console_scripts
    ]
    assert missing == []


@pytest.mark.parametrize("env", list(Environment), ids=str)
def test_the_built_wheel_plans_in_every_environment(built_wheel: WheelContents, env: Environment) -> None:
    run = plan(env, built_wheel.path)
    jobs = run.of_type("databricks:index/job:Job")
    assert len(jobs) == len(built_wheel.graph.jobs)
    entry_points = {
        task["pythonWheelTask"]["entryPoint"] for job in jobs for task in job.plain_inputs()["tasks"]
    }
    assert entry_points <= built_wheel.console_scripts
