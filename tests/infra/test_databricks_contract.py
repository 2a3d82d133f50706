"""Contract with the ML wheels actually built into dist/<project>/ (``make unit`` builds them
before pytest); the four stacks' plans install exactly those wheels."""

from __future__ import annotations

import pytest
from harness import built_wheel, committed_settings

from core.environment import Environment
from infra.wheel import WheelContents
from stacks import wiring
from stacks.offline import OfflineRun


@pytest.fixture(scope="module")
def built_wheels() -> dict[str, WheelContents]:
    # `make unit` builds them; a missing wheel fails, naming `make wheel`.
    projects = {project for env in Environment for project in committed_settings(env).projects}
    return {project.name: built_wheel(wiring.project_dist(project)) for project in projects}


def test_every_task_points_at_an_entry_point_of_the_built_wheel(
    built_wheels: dict[str, WheelContents],
) -> None:
    for name, wheel in built_wheels.items():
        tasks = [(job, task) for job, spec in wheel.graph.jobs.items() for task in spec.tasks]
        assert tasks, name
        missing = [
            f"{job}.{task.key}: {task.entry_point}"
            for job, task in tasks
            if task.entry_point not in wheel.console_scripts
        ]
        assert missing == [], name


@pytest.mark.parametrize("env", list(Environment), ids=str)
def test_the_built_wheels_plan_in_every_environment(
    built_wheels: dict[str, WheelContents], plans: dict[Environment, OfflineRun], env: Environment
) -> None:
    jobs = plans[env].of_type("databricks:index/job:Job")
    for project in committed_settings(env).projects:
        wheel = built_wheels[project.name]
        own = [job.plain_inputs() for job in jobs if job.plain_inputs()["tags"]["ml-project"] == project.name]
        assert len(own) == len(wheel.graph.jobs)
        entry_points = {task["pythonWheelTask"]["entryPoint"] for job in own for task in job["tasks"]}
        assert entry_points <= wheel.console_scripts
        assert plans[env].exports["projects"][project.name]["wheelVolumePath"].endswith(wheel.path.name)
