"""The wheel's path on the volume is content-addressed (docs/traps.md: wheel-cache)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wheel_files import build_wheel

from core.environment import Environment
from infra.artifacts import content_addressed_path
from infra.wheel import read_wheel
from stacks.offline import OfflineRun, RecordedResource

VOLUME = "/Volumes/mlops_dev/iris/artifacts"
FILE = "databricks:index/file:File"
JOB = "databricks:index/job:Job"


def project_resource(run: OfflineRun, type_: str, project: str) -> RecordedResource:
    (resource,) = [r for r in run.of_type(type_) if r.name.startswith(f"databricks-{project}-")]
    return resource


def uploaded_path(run: OfflineRun, project: str) -> str:
    path: str = project_resource(run, FILE, project).plain_inputs()["path"]
    return path


def wheels_named_in_jobs(run: OfflineRun, project: str) -> set[str]:
    """The wheels the project's jobs install: serverless environments' or job-cluster tasks'."""
    named: set[str] = set()
    for job in run.of_type(JOB):
        if not job.name.startswith(f"databricks-{project}-"):
            continue
        inputs = job.plain_inputs()
        named |= {
            d for e in inputs.get("environments", []) for d in e["spec"]["dependencies"] if "==" not in d
        }
        named |= {library["whl"] for task in inputs["tasks"] for library in task.get("libraries", [])}
    return named


def test_path_carries_version_and_hash_and_keeps_a_valid_wheel_name(tmp_path: Path) -> None:
    wheel = read_wheel(build_wheel(tmp_path))
    path = content_addressed_path(wheel, VOLUME)
    pattern = rf"^{VOLUME}/wheels/iris_mlops-0\.1\.0\+[0-9a-f]{{12}}/iris_mlops-0\.1\.0-py3-none-any\.whl$"
    assert re.match(pattern, path)
    assert wheel.sha256.startswith(path.split("+")[1][:12])


def test_same_wheel_gives_the_same_path_and_no_diff(
    plans: dict[Environment, OfflineRun], switched_plan: OfflineRun
) -> None:
    """The switched dev stack reads Diabetes's wheel, unchanged, from a copy of dist/ elsewhere."""
    before, after = plans[Environment.DEV], switched_plan
    assert uploaded_path(before, "diabetes") == uploaded_path(after, "diabetes")
    for run in (before, after):
        assert wheels_named_in_jobs(run, "diabetes") == {uploaded_path(run, "diabetes")}


def test_changed_wheel_gets_a_new_path_and_the_jobs_follow(
    plans: dict[Environment, OfflineRun], switched_plan: OfflineRun
) -> None:
    """The switched dev stack's Iris wheel was rebuilt after a fix: same version, other bytes."""
    before, after = uploaded_path(plans[Environment.DEV], "iris"), uploaded_path(switched_plan, "iris")
    assert before != after
    assert Path(before).name == Path(after).name  # same version, same file name
    assert wheels_named_in_jobs(switched_plan, "iris") == {after}


def test_upload_waits_for_the_volume(plans: dict[Environment, OfflineRun]) -> None:
    run = plans[Environment.DEV]
    for project in ("iris", "diabetes"):
        (upload,) = [f for f in run.of_type(FILE) if f.name.startswith(f"databricks-{project}-")]
        (volume,) = [
            v
            for v in run.of_type("databricks:index/volume:Volume")
            if v.name.startswith(f"databricks-{project}-")
        ]
        assert volume.urn in upload.dependencies


@pytest.mark.parametrize("version", ["0.1.0", "1.2.3rc1"])
def test_pep427_name_survives_for_any_version(tmp_path: Path, version: str) -> None:
    wheel = read_wheel(build_wheel(tmp_path, version=version))
    path = content_addressed_path(wheel, VOLUME)
    assert path.endswith(f"/iris_mlops-{version}-py3-none-any.whl")
    assert f"/iris_mlops-{version}+" in path
