"""Every ML project on the one framework: each project's wheel vendors its own copy of the framework
under its own package with only its own job graph and entry points, so two projects' wheels share no
module, install side by side into one venv and each runs its own jobs there; each names its own
source commit; its lock pins the framework's; infra reads its graph; and each local endpoint serves
only its own model, queried with the Databricks SDK client as on Databricks."""

from __future__ import annotations

import re
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from deltalake import DeltaTable
from diabetes_mlops.project import PROJECT as DIABETES
from iris_mlops.project import PROJECT as IRIS
from ml_support import PROJECT_DIRS, REPO, SideBySideRuns
from mlops_framework.job_graph import load_job_graph, vendored_framework, wheel_member
from mlops_framework.params import TaskParameters
from mlops_framework.runner import run_job
from mlops_framework.serving import champion_app, serve_in_thread

from infra.wheel import read_wheel

FRAMEWORK = REPO / "ml" / "framework"
FRAMEWORK_SOURCE = FRAMEWORK / "src" / "mlops_framework"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)


def _members(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _package(folder: Path) -> str:
    return tomllib.loads((folder / "pyproject.toml").read_text())["project"]["name"].replace("-", "_")


@pytest.mark.parametrize("folder", PROJECT_DIRS, ids=lambda folder: folder.name)
def test_a_projects_wheel_vendors_the_framework_under_its_own_package_with_only_its_graph_and_scripts(
    folder: Path, built_wheels: dict[str, Path]
) -> None:
    members = _members(built_wheels[folder.name])
    package = _package(folder)
    vendored = vendored_framework(package).replace(".", "/")
    framework = {
        f"{vendored}/{path.relative_to(FRAMEWORK_SOURCE).as_posix()}"
        for path in FRAMEWORK_SOURCE.rglob("*.py")
    }
    assert framework <= set(members)
    packages = {name.split("/")[0] for name in members if not name.split("/")[0].endswith(".dist-info")}
    assert packages == {package}  # nothing importable but its own package
    graphs = [name for name in members if name.endswith("/job_graph.toml")]
    assert graphs == [wheel_member(package)]
    [entry_points] = [name for name in members if name.endswith(".dist-info/entry_points.txt")]
    scripts = re.findall(r"^(\S+) = ", members[entry_points].decode(), flags=re.MULTILINE)
    assert scripts
    assert all(script.startswith(f"{folder.name}-") for script in scripts)
    # In the wheel, the project's own modules import its copy, never the framework by name.
    sources = [name for name in members if name.endswith(".py") and not name.startswith(f"{vendored}/")]
    assert not [
        name for name in sources if re.search(rb"^\s*(from|import) mlops_framework\b", members[name], re.M)
    ]


def test_no_two_built_wheels_hold_the_same_module(built_wheels: dict[str, Path]) -> None:
    """pip would silently overwrite a module two wheels both carry, and uninstalling one would delete
    the other's."""
    seen: dict[str, str] = {}
    for name, wheel in built_wheels.items():
        for member in _members(wheel):
            if member.endswith(".py"):
                assert member not in seen, f"{member} is in both {seen[member]}'s and {name}'s wheels"
                seen[member] = name
    assert len(built_wheels) >= 2


@pytest.mark.parametrize("folder", PROJECT_DIRS, ids=lambda folder: folder.name)
def test_each_wheel_names_the_last_commit_of_its_own_sources(
    folder: Path, built_wheels: dict[str, Path]
) -> None:
    """Its folder and the framework, nothing else: another project's commit is not its provenance."""
    member = f"{vendored_framework(_package(folder)).replace('.', '/')}/_source_commit.txt"
    packaged = _members(built_wheels[folder.name])[member].decode().strip()
    last = subprocess.run(
        ["git", "log", "-1", "--format=%H", "--", str(folder), str(FRAMEWORK)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert packaged.removesuffix("-dirty") == last.stdout.strip()


@pytest.mark.e2e
def test_two_projects_wheels_installed_side_by_side_each_run_their_own_jobs(
    side_by_side_runs: SideBySideRuns, tmp_path: Path
) -> None:
    """The venv holds Iris's and diabetes's wheels and their locked dependencies, not the framework:
    each project's front door runs its training and batch scoring there, into one home (started at
    once with the first ml test: conftest.py, side_by_side_runs)."""
    environment = side_by_side_runs.environment
    assert environment.run(["python", "-c", "import mlops_framework"], cwd=tmp_path).returncode != 0
    for project, run in side_by_side_runs.runs.items():
        output = side_by_side_runs.logs[project]
        assert run.wait(timeout=600) == 0, f"{project}: {output.read_text(encoding='utf-8')[-3000:]}"
    for spec in (IRIS, DIABETES):  # each scored its own data with its own champion
        catalog = TaskParameters().catalog
        table = DeltaTable(str(environment.home / "tables" / catalog / spec.schema / spec.tables.predictions))
        scored = table.to_pandas()
        assert len(scored) == len(spec.load_frame()), spec.name
        assert set(scored[spec.key_column]) == set(spec.load_frame()[spec.key_column]), spec.name


def test_infra_reads_a_projects_graph_from_its_own_package(built_wheels: dict[str, Path]) -> None:
    wheel = read_wheel(
        built_wheels["diabetes"]
    )  # also checks every task's entry point is this wheel's script
    assert (wheel.distribution, wheel.graph.package_name) == ("diabetes_mlops", "diabetes_mlops")
    entry_points = {task.entry_point for job in wheel.graph.jobs.values() for task in job.tasks}
    assert entry_points
    assert all(point.startswith("diabetes-") for point in entry_points)
    assert not {point for point in wheel.console_scripts if point.startswith("iris-")}


@pytest.mark.parametrize("folder", PROJECT_DIRS, ids=lambda folder: folder.name)
def test_a_projects_wheel_requires_what_the_framework_requires(
    folder: Path, built_wheels: dict[str, Path]
) -> None:
    [metadata] = [
        name for name in _members(built_wheels[folder.name]) if name.endswith(".dist-info/METADATA")
    ]
    text = _members(built_wheels[folder.name])[metadata].decode()
    required = {
        line.removeprefix("Requires-Dist: ")
        for line in text.splitlines()
        if line.startswith("Requires-Dist: ")
    }
    framework = tomllib.loads((FRAMEWORK / "pyproject.toml").read_text())["project"]
    expected = [
        *framework["dependencies"],
        *(f"{dep}; extra == 'local'" for dep in framework["optional-dependencies"]["local"]),
    ]
    normalized = {re.sub(r"\s", "", line).replace('"', "'") for line in required}
    assert len(normalized) == len(expected)
    for dependency in expected:
        name = re.split(r"[<>=;]", dependency)[0]
        assert any(line.startswith(name) for line in normalized), dependency


@pytest.mark.parametrize("folder", PROJECT_DIRS, ids=lambda folder: folder.name)
def test_a_projects_lock_pins_what_the_frameworks_lock_pins(folder: Path) -> None:
    """The project's dependencies are the framework's (ml/hatch_build.py): so are its pins."""
    framework = dict(PIN.findall((FRAMEWORK / "requirements.lock").read_text()))
    project = dict(PIN.findall((folder / "requirements.lock").read_text()))
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
        serve_in_thread(champion_app(TaskParameters(), 0, project=IRIS)) as iris_url,
        serve_in_thread(champion_app(DIABETES.defaults(), 0, project=DIABETES)) as diabetes_url,
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
