"""The built wheel: reproducible, carries the job graph and its entry points, and runs both jobs
end to end when installed alone into a fresh venv from the hashed ml/framework/requirements.lock."""

from __future__ import annotations

import configparser
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from iris_mlops.project import PROJECT as IRIS
from ml_support import COMPLETE, LOCK, REPO, build_wheel, venv_key
from mlops_framework import provenance
from mlops_framework.job_graph import (
    JobGraph,
    load_job_graph,
    parse_job_graph,
    vendored_framework,
    wheel_member,
)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

WHEEL_MEMBER = wheel_member(IRIS.package)
PACKAGED_MEMBER = (
    f"{vendored_framework(IRIS.package).replace('.', '/')}/{provenance.PACKAGED_COMMIT_RESOURCE}"
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def graph_in(wheel: Path) -> JobGraph:
    with zipfile.ZipFile(wheel) as archive:
        return parse_job_graph(archive.read(WHEEL_MEMBER).decode("utf-8"))


def console_scripts(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [name for name in archive.namelist() if name.endswith(".dist-info/entry_points.txt")]
        parser = configparser.ConfigParser()
        parser.read_string(archive.read(member).decode())
    return dict(parser["console_scripts"])


def test_same_source_builds_the_same_bytes(built_wheel: Path, tmp_path: Path) -> None:
    assert sha256(build_wheel(tmp_path)) == sha256(built_wheel)


def test_every_job_task_entry_point_is_a_console_script_of_the_wheel(built_wheel: Path) -> None:
    scripts = console_scripts(built_wheel)
    graph = graph_in(built_wheel)
    for job in graph.jobs.values():
        for task in job.tasks:
            assert task.entry_point in scripts, (job.key, task.key)
            assert scripts[task.entry_point].startswith("iris_mlops.project:SCRIPTS.")
    assert scripts["iris-mlops"] == "iris_mlops.project:SCRIPTS.cli"


def test_wheel_ships_the_same_job_graph_as_the_source(built_wheel: Path) -> None:
    with zipfile.ZipFile(built_wheel) as archive:
        assert WHEEL_MEMBER in archive.namelist()
    assert graph_in(built_wheel) == load_job_graph(IRIS.package)


def test_runtime_lock_is_hashed_and_points_at_no_url() -> None:
    text = LOCK.read_text()
    assert "://" not in text
    pins = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
    assert pins
    assert text.count("--hash=sha256:") >= len(pins)


def test_the_e2e_venv_holds_the_locked_dependencies_and_this_wheel(
    wheel_env: Path, built_wheel: Path, built_wheels: dict[str, Path]
) -> None:
    """The reused venv is keyed by the lock and the wheel bytes: any change gives a new one. (The
    wheel beside Iris's is diabetes's, as `wheel_env` installs it, whatever other projects exist.)"""
    assert wheel_env.name == venv_key(built_wheel, beside=[built_wheels["diabetes"]])
    assert (wheel_env / COMPLETE).read_text().split()[0] == built_wheel.name
    (site_packages,) = wheel_env.glob("lib/python*/site-packages")
    (record,) = site_packages.glob("iris_mlops-*.dist-info/RECORD")
    installed = {line.split(",")[0] for line in record.read_text().splitlines()}
    with zipfile.ZipFile(built_wheel) as archive:
        assert {name for name in archive.namelist() if not name.endswith("/")} <= installed
        for name in archive.namelist():
            if name.startswith("iris_mlops/") and name.endswith(".py"):
                assert (site_packages / name).read_bytes() == archive.read(name), name


SERVERLESS_PACKAGES = REPO / "ml" / "serverless-environment-4.txt"
DATABRICKS_LOCK = REPO / "ml" / "framework" / "src" / "mlops_framework" / "requirements-databricks.lock"


def requires_dist(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(member).decode()
    return [
        Requirement(line.split(":", 1)[1])
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]


def serverless_pins() -> dict[str, str]:
    lines = [line.strip() for line in SERVERLESS_PACKAGES.read_text().splitlines()]
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_the_wheels_dependencies_accept_what_the_serverless_environment_ships(built_wheel: Path) -> None:
    """pip keeps the environment's packages only if every cap accepts them; an open or wrong cap
    would resolve anew on Databricks (pandas 3 beside a client built for pandas<3)."""
    pins = serverless_pins()
    required = {canonicalize_name(r.name): r for r in requires_dist(built_wheel) if r.marker is None}
    assert set(pins) <= set(required)
    for name, version in pins.items():
        assert required[name].specifier.contains(version), (name, version, str(required[name].specifier))
    uncapped = [
        str(r) for r in required.values() if not any(s.operator in {"<", "<=", "=="} for s in r.specifier)
    ]
    assert uncapped == []


def test_the_job_venv_lock_runs_the_serverless_versions() -> None:
    locked = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", LOCK.read_text(), flags=re.MULTILINE))
    assert {name: locked[name] for name in serverless_pins()} == serverless_pins()


# What only the `local` extra brings: Delta without Spark, and the full MLflow's server and store.
LOCAL_ONLY = ("deltalake", "sqlalchemy", "alembic", "flask", "matplotlib", "docker", "graphene")


def test_the_local_extra_is_never_imported_on_databricks(built_wheel: Path) -> None:
    """Databricks jobs install mlflow-skinny and no `local` extra: every task's module imports
    without the full MLflow's dependencies and without deltalake."""
    extras = {canonicalize_name(r.name) for r in requires_dist(built_wheel) if "local" in str(r.marker)}
    assert extras == {"deltalake", "mlflow"}
    steps = ", ".join(f"mlops_framework.steps.{step}" for step in STEP_MODULES)
    blocked = (
        f"import sys; sys.modules.update(dict.fromkeys({LOCAL_ONLY!r})); "
        "import mlops_framework.entrypoints, mlops_framework.backends.databricks, mlops_framework.context; "
        f"import {steps}; "
        "from mlops_framework.backends import select_backend; "
        "assert type(select_backend({'MLOPS_BACKEND': 'databricks'})).__name__ == 'DatabricksBackend'"
    )
    subprocess.run([sys.executable, "-c", blocked], check=True)


@pytest.mark.parametrize("missing", ["deltalake", "sqlalchemy"])
def test_a_local_job_without_the_local_extra_says_in_one_line_which_extra_to_install(missing: str) -> None:
    """Not a ModuleNotFoundError traceback from deep inside the local backend."""
    script = (
        f"import sys; sys.modules[{missing!r}] = None; sys.argv = ['iris-mlops', 'run', 'training']; "
        "from iris_mlops.project import SCRIPTS; SCRIPTS.cli()"
    )
    env = {**os.environ, "MLOPS_BACKEND": "local", "MLOPS_HOME": "/nonexistent", "COLUMNS": "400"}
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    (line,) = (result.stdout + result.stderr).strip().splitlines()  # the logged error, no traceback
    assert "`local` extra" in line, line
    assert f"no module {missing!r}" in line, line
    assert "[local]" in line, line


STEP_MODULES = ("ingest", "train", "evaluate", "approve", "deploy", "batch_inference", "monitor")


def test_mlflows_floor_is_the_version_the_locks_pin(built_wheel: Path) -> None:
    """An older MLflow 3.x than the one the tests run is not offered as tested."""
    floors = {
        canonicalize_name(r.name): min(s.version for s in r.specifier if s.operator == ">=")
        for r in requires_dist(built_wheel)
        if canonicalize_name(r.name) in {"mlflow", "mlflow-skinny"}
    }
    for lock in (LOCK, DATABRICKS_LOCK):
        locked = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", lock.read_text(), flags=re.MULTILINE))
        assert {name: locked[name] for name in floors if name in locked} == {
            name: floor for name, floor in floors.items() if name in locked
        }, lock
    assert set(floors) == {"mlflow", "mlflow-skinny"}


def test_provenance_prefers_the_override_then_the_wheels_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance, "packaged_commit", lambda: "a" * 40)
    monkeypatch.setattr(provenance, "checkout_commit", lambda: "b" * 40)
    monkeypatch.delenv(provenance.COMMIT_ENV_VAR, raising=False)
    assert provenance.git_commit() == "a" * 40
    monkeypatch.setenv(provenance.COMMIT_ENV_VAR, "c" * 40)
    assert provenance.git_commit() == "c" * 40
    tags = provenance.provenance_tags(IRIS.tags, "train", "dev", "databricks", "0.1.0")
    assert all("." not in key for key in tags)
    assert tags["iris_mlops_task"] == "train"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_wheels_commit_is_its_own_folders_and_the_frameworks_not_another_projects(tmp_path: Path) -> None:
    """A commit in another project's folder leaves a project's wheel (and its content-addressed
    Databricks path) unchanged; one in the framework, or an uncommitted change there, does not."""
    spec = importlib.util.spec_from_file_location("ml_hatch_build", REPO / "ml" / "hatch_build.py")
    assert spec is not None
    assert spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    framework, own, other = (
        tmp_path / "ml" / part for part in ("framework", "projects/own", "projects/other")
    )
    for folder in (framework, own, other):
        folder.mkdir(parents=True)
        (folder / "x.py").write_text("one\n")
    commit = ("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, *commit, "all")
    first = _git(tmp_path, "rev-parse", "HEAD")
    (other / "x.py").write_text("two\n")
    _git(tmp_path, *commit, "other")
    assert hook.source_commit(own, framework) == first
    (other / "x.py").write_text("changed, not committed\n")
    assert hook.source_commit(own, framework) == first  # not dirty either
    (framework / "x.py").write_text("changed, not committed\n")
    assert hook.source_commit(own, framework) == f"{first}-dirty"
    _git(tmp_path, *commit, "framework")
    assert hook.source_commit(own, framework) == _git(tmp_path, "rev-parse", "HEAD")
