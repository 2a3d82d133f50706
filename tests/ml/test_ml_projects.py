"""Every ML project on the one framework: a further project's wheel carries the framework but only
its own job graph and entry points, its lock pins the framework's, infra reads its graph, and each
local endpoint serves only its own model, queried with the Databricks SDK client as on Databricks."""

from __future__ import annotations

import hashlib
import re
import tomllib
import zipfile
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from diabetes_mlops.project import PROJECT as DIABETES
from iris_mlops.job_graph import load_job_graph
from iris_mlops.params import TaskParameters
from iris_mlops.runner import run_job
from iris_mlops.serving import champion_app, serve_in_thread
from ml_support import REPO, build_wheel

from infra.wheel import read_wheel

DIABETES_DIR = REPO / "ml" / "projects" / "diabetes"
FRAMEWORK = REPO / "ml" / "src" / "iris_mlops"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)


@pytest.fixture(scope="module")
def diabetes_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("diabetes_wheel"), DIABETES_DIR)


def _members(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_projects_wheel_carries_the_framework_and_only_its_own_graph_and_scripts(
    diabetes_wheel: Path,
) -> None:
    members = _members(diabetes_wheel)
    framework = {f"iris_mlops/{path.relative_to(FRAMEWORK).as_posix()}" for path in FRAMEWORK.rglob("*.py")}
    assert framework <= set(members)
    assert "diabetes_mlops/job_graph.toml" in members
    assert "iris_mlops/job_graph.toml" not in members  # Iris's jobs are not this wheel's
    [entry_points] = [name for name in members if name.endswith(".dist-info/entry_points.txt")]
    scripts = re.findall(r"^(\S+) = ", members[entry_points].decode(), flags=re.MULTILINE)
    assert scripts
    assert all(script.startswith("diabetes-") for script in scripts)


def test_a_projects_wheel_requires_what_the_framework_requires(diabetes_wheel: Path) -> None:
    [metadata] = [name for name in _members(diabetes_wheel) if name.endswith(".dist-info/METADATA")]
    text = _members(diabetes_wheel)[metadata].decode()
    required = {
        line.removeprefix("Requires-Dist: ")
        for line in text.splitlines()
        if line.startswith("Requires-Dist: ")
    }
    framework = tomllib.loads((REPO / "ml" / "pyproject.toml").read_text())["project"]
    expected = [
        *framework["dependencies"],
        *(f"{dep}; extra == 'local'" for dep in framework["optional-dependencies"]["local"]),
    ]
    normalized = {re.sub(r"\s", "", line).replace('"', "'") for line in required}
    assert len(normalized) == len(expected)
    for dependency in expected:
        name = re.split(r"[<>=;]", dependency)[0]
        assert any(line.startswith(name) for line in normalized), dependency


def test_the_same_project_source_builds_the_same_bytes(diabetes_wheel: Path, tmp_path: Path) -> None:
    again = build_wheel(tmp_path, DIABETES_DIR)
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(diabetes_wheel.read_bytes()).digest()


def test_infra_reads_a_projects_graph_from_its_own_package(diabetes_wheel: Path) -> None:
    wheel = read_wheel(diabetes_wheel)  # also checks every task's entry point is this wheel's script
    assert (wheel.distribution, wheel.graph.package_name) == ("diabetes_mlops", "diabetes_mlops")
    entry_points = {task.entry_point for job in wheel.graph.jobs.values() for task in job.tasks}
    assert entry_points
    assert all(point.startswith("diabetes-") for point in entry_points)
    assert not {point for point in wheel.console_scripts if point.startswith("iris-")}


def test_a_projects_lock_pins_what_the_frameworks_lock_pins() -> None:
    """The project's dependencies are the framework's (ml/hatch_build.py): so are its pins."""
    framework = dict(PIN.findall((REPO / "ml" / "requirements.lock").read_text()))
    project = dict(PIN.findall((DIABETES_DIR / "requirements.lock").read_text()))
    assert project == framework


def client(url: str) -> WorkspaceClient:
    """The SDK as a Databricks user holds it; the local server accepts and ignores the token."""
    return WorkspaceClient(host=url, token="local-token", auth_type="pat")  # noqa: S106 - not a secret


def test_the_sdk_client_queries_each_local_endpoint_and_only_its_own_model(trained: Path) -> None:
    for job in ("training",):
        assert run_job(load_job_graph(DIABETES.package).job(job), project=DIABETES).succeeded
    flower = {"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}
    patient = DIABETES.features_of(DIABETES.load_frame().head(1)).to_dict(orient="records")
    with (
        serve_in_thread(champion_app(TaskParameters(), 0)) as iris_url,
        serve_in_thread(champion_app(DIABETES.defaults(), 0, DIABETES)) as diabetes_url,
    ):
        iris = client(iris_url).serving_endpoints
        diabetes = client(diabetes_url).serving_endpoints
        assert iris.query("iris-dev", dataframe_records=[flower]).predictions == ["setosa"]
        [progression] = diabetes.query("diabetes-dev", dataframe_records=patient).predictions or []
        assert isinstance(progression, float)
        with pytest.raises(DatabricksError, match="not found"):
            iris.query("diabetes-dev", dataframe_records=patient)  # not this server's endpoint
        with pytest.raises(DatabricksError):
            diabetes.query("diabetes-dev", dataframe_records=[flower])  # not this model's signature
