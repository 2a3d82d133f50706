"""The wheel's path on the volume is content-addressed (docs/traps.md: wheel-cache); no wheel, no plan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from databricks_fixtures.program import plan, workloads_args
from databricks_fixtures.wheels import build_wheel

from core.environment import Environment
from infra.artifacts import content_addressed_path
from infra.databricks import DatabricksWorkloads
from infra.wheel import WheelError, read_wheel
from stacks.offline import OfflineRun, run_offline

VOLUME = "/Volumes/mlops_dev/iris/artifacts"
FILE = "databricks:index/file:File"


def uploaded_path(run: OfflineRun) -> str:
    (upload,) = run.of_type(FILE)
    path: str = upload.plain_inputs()["path"]
    return path


def wheels_named_in_jobs(run: OfflineRun) -> set[str]:
    return {
        dependency
        for job in run.of_type("databricks:index/job:Job")
        for environment in job.plain_inputs()["environments"]
        for dependency in environment["spec"]["dependencies"]
    }


def test_path_carries_version_and_hash_and_keeps_a_valid_wheel_name(tmp_path: Path) -> None:
    wheel = read_wheel(build_wheel(tmp_path))
    path = content_addressed_path(wheel, VOLUME)
    pattern = rf"^{VOLUME}/wheels/iris_mlops-0\.1\.0\+[0-9a-f]{{12}}/iris_mlops-0\.1\.0-py3-none-any\.whl$"
    assert re.match(pattern, path)
    assert wheel.sha256.startswith(path.split("+")[1][:12])


def test_same_wheel_gives_the_same_path_and_no_diff(tmp_path: Path) -> None:
    first = plan(Environment.DEV, build_wheel(tmp_path / "a"))
    second = plan(Environment.DEV, build_wheel(tmp_path / "b"))  # same bytes, built elsewhere
    assert uploaded_path(first) == uploaded_path(second)
    assert wheels_named_in_jobs(first) == wheels_named_in_jobs(second) == {uploaded_path(first)}


def test_changed_wheel_gets_a_new_path_and_the_jobs_follow(tmp_path: Path) -> None:
    before = plan(Environment.DEV, build_wheel(tmp_path / "a"))
    after = plan(Environment.DEV, build_wheel(tmp_path / "b", payload="# a fix\n"))
    assert uploaded_path(before) != uploaded_path(after)
    assert Path(uploaded_path(before)).name == Path(uploaded_path(after)).name  # same version, same file name
    assert wheels_named_in_jobs(after) == {uploaded_path(after)}


def test_upload_waits_for_the_volume(tmp_path: Path) -> None:
    run = plan(Environment.DEV, build_wheel(tmp_path))
    (upload,) = run.of_type(FILE)
    (volume,) = run.of_type("databricks:index/volume:Volume")
    assert volume.urn in upload.dependencies


def test_missing_wheel_is_a_clear_error_and_registers_nothing(tmp_path: Path) -> None:
    args = workloads_args(Environment.DEV, tmp_path / "dist")
    errors: list[WheelError] = []

    def program() -> None:
        try:
            DatabricksWorkloads("databricks", args)
        except WheelError as error:
            errors.append(error)

    run = run_offline(program, project="mlops-platform", stack="dev", config={})
    assert run.resources == []
    (error,) = errors
    assert "make wheel" in str(error)


@pytest.mark.parametrize("version", ["0.1.0", "1.2.3rc1"])
def test_pep427_name_survives_for_any_version(tmp_path: Path, version: str) -> None:
    wheel = read_wheel(build_wheel(tmp_path, version=version))
    path = content_addressed_path(wheel, VOLUME)
    assert path.endswith(f"/iris_mlops-{version}-py3-none-any.whl")
    assert f"/iris_mlops-{version}+" in path
