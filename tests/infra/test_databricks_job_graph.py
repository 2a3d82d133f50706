"""The job graph is read from the built wheel and must agree with the wheel's own entry points."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from mlops_framework.job_graph import databricks_requirements_member, wheel_member
from wheel_files import CONSOLE_SCRIPTS, JOB_GRAPH, build_wheel, write_wheel

from infra.wheel import WheelError, read_wheel, resolve_wheel_path

GRAPH_MEMBER = wheel_member("iris_mlops")
DATABRICKS_REQUIREMENTS_MEMBER = databricks_requirements_member("iris_mlops")


def test_graph_and_entry_points_are_read_from_the_wheel(tmp_path: Path) -> None:
    wheel = read_wheel(build_wheel(tmp_path))
    assert wheel.graph.package_name == "iris_mlops"
    assert set(wheel.graph.jobs) == {"training", "batch_inference"}
    assert wheel.console_scripts == frozenset(CONSOLE_SCRIPTS)
    assert (wheel.distribution, wheel.version) == ("iris_mlops", "0.1.0")
    assert len(wheel.sha256) == 64


def test_a_directory_with_one_wheel_resolves_to_it(tmp_path: Path) -> None:
    path = build_wheel(tmp_path)
    assert resolve_wheel_path(tmp_path) == path


@pytest.mark.parametrize("make_path", [lambda d: d / "missing.whl", lambda d: d], ids=["file", "empty-dir"])
def test_missing_wheel_tells_the_user_to_run_make_wheel(tmp_path: Path, make_path: object) -> None:
    with pytest.raises(WheelError, match="make wheel"):
        read_wheel(make_path(tmp_path))  # type: ignore[operator]


def test_several_wheels_in_dist_are_ambiguous(tmp_path: Path) -> None:
    build_wheel(tmp_path, version="0.1.0")
    build_wheel(tmp_path, version="0.2.0")
    with pytest.raises(WheelError, match="several wheels"):
        read_wheel(tmp_path)


def test_task_entry_point_absent_from_the_wheel_is_an_error(tmp_path: Path) -> None:
    scripts = {k: v for k, v in CONSOLE_SCRIPTS.items() if k != "iris-deploy"}
    with pytest.raises(WheelError, match=r"training\.deploy -> iris-deploy"):
        read_wheel(build_wheel(tmp_path, console_scripts=scripts))


def test_wheel_without_job_graph_is_an_error(tmp_path: Path) -> None:
    path = build_wheel(tmp_path)
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist() if name != GRAPH_MEMBER}
    (tmp_path / "other").mkdir()
    stripped = write_wheel(tmp_path / "other" / path.name, members)
    with pytest.raises(WheelError, match=r"does not contain iris_mlops/job_graph\.toml"):
        read_wheel(stripped)


def with_members(tmp_path: Path, replaced: dict[str, str]) -> Path:
    """The synthetic wheel with some members replaced or added."""
    path = build_wheel(tmp_path)
    with zipfile.ZipFile(path) as source:
        members: dict[str, str | bytes] = {name: source.read(name) for name in source.namelist()}
    (tmp_path / "other").mkdir()
    return write_wheel(tmp_path / "other" / path.name, {**members, **replaced})


REQUIRES = (
    "Metadata-Version: 2.1\nName: iris-mlops\nVersion: 0.1.0\nRequires-Dist: mlflow-skinny<4,>=3.17.2\n"
)
EXTRA = 'Requires-Dist: deltalake<2,>=1.0; extra == "local"\n'
METADATA = "iris_mlops-0.1.0.dist-info/METADATA"


def test_the_wheels_databricks_lock_must_pin_what_it_requires(tmp_path: Path) -> None:
    """Its jobs install the lock's versions: a stale lock would install something untested."""
    missing = with_members(tmp_path / "a", {METADATA: REQUIRES})
    with pytest.raises(WheelError, match=rf"carries no {DATABRICKS_REQUIREMENTS_MEMBER}: run `make lock`"):
        read_wheel(missing)
    stale = with_members(
        tmp_path / "b", {METADATA: REQUIRES, DATABRICKS_REQUIREMENTS_MEMBER: "mlflow-skinny==3.5.0 \\\n"}
    )
    with pytest.raises(WheelError, match=r"mlflow-skinny<4,>=3\.17\.2 \(locked: 3\.5\.0\)"):
        read_wheel(stale)
    lock = "# a comment\nmlflow-skinny==3.17.2 \\\n    --hash=sha256:00\n    # via iris-mlops\nsix==1.17.0\n"
    locked = with_members(tmp_path / "c", {METADATA: REQUIRES + EXTRA, DATABRICKS_REQUIREMENTS_MEMBER: lock})
    assert read_wheel(locked).pinned_requirements == ("mlflow-skinny==3.17.2", "six==1.17.0")


BROKEN_GRAPHS = {
    "cycle": (
        JOB_GRAPH.replace('key = "ingest"\n', 'key = "ingest"\ndepends_on = ["deploy"]\n'),
        "cycle",
    ),
    "unknown-dependency": (
        JOB_GRAPH.replace('depends_on = ["approve"]', 'depends_on = ["aprove"]'),
        "aprove",
    ),
    "duplicate-task-key": (JOB_GRAPH.replace('key = "approve"', 'key = "deploy"'), "duplicate task keys"),
    "typo-in-field": (JOB_GRAPH.replace("entry_point = ", "entrypoint = ", 1), "entrypoint"),
    "future-schema-version": (
        JOB_GRAPH.replace("schema_version = 1", "schema_version = 2"),
        "schema_version",
    ),
}


@pytest.mark.parametrize("graph_and_message", BROKEN_GRAPHS.values(), ids=BROKEN_GRAPHS.keys())
def test_invalid_job_graph_is_rejected_with_the_reason(
    tmp_path: Path, graph_and_message: tuple[str, str]
) -> None:
    graph, message = graph_and_message
    with pytest.raises(WheelError, match=message):
        read_wheel(build_wheel(tmp_path, graph=graph))


def test_infra_refuses_a_job_timeout_shorter_than_its_task_chain(tmp_path: Path) -> None:
    """The wheel's own contract decides: the platform parses the graph with mlops_framework.job_graph."""
    short = JOB_GRAPH.replace("timeout_seconds = 10500", "timeout_seconds = 3600", 1)
    with pytest.raises(WheelError, match=r"before its longest task chain ingest -> "):
        read_wheel(build_wheel(tmp_path, graph=short))


@pytest.mark.parametrize("field", ["timeout_seconds = 1800\n", "max_concurrent_runs = 1\n"])
def test_infra_requires_what_the_runner_requires(tmp_path: Path, field: str) -> None:
    """Defect: infra once treated task and job timeouts as optional while the wheel required them."""
    with pytest.raises(WheelError, match="missing fields"):
        read_wheel(build_wheel(tmp_path, graph=JOB_GRAPH.replace(field, "", 1)))
