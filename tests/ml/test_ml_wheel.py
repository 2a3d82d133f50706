"""The built wheel: reproducible, carries the job graph and its entry points, and runs both jobs
end to end when installed alone into a fresh venv from the hashed ml/requirements.lock."""

from __future__ import annotations

import configparser
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from deltalake import DeltaTable
from iris_mlops.job_graph import WHEEL_MEMBER, load_job_graph, load_job_graph_from_wheel
from ml_support import REPO, UV, build_wheel
from mlflow import MlflowClient

LOCK = REPO / "ml" / "requirements.lock"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    graph = load_job_graph_from_wheel(built_wheel)
    for job in graph.jobs.values():
        for task in job.tasks:
            assert task.entry_point in scripts, (job.key, task.key)
            assert scripts[task.entry_point].startswith("iris_mlops.entrypoints:")
    assert scripts["iris-mlops"] == "iris_mlops.cli:main"


def test_wheel_ships_the_same_job_graph_as_the_source(built_wheel: Path) -> None:
    with zipfile.ZipFile(built_wheel) as archive:
        assert WHEEL_MEMBER in archive.namelist()
    assert load_job_graph_from_wheel(built_wheel) == load_job_graph()


def test_runtime_lock_is_hashed_and_points_at_no_url() -> None:
    text = LOCK.read_text()
    assert "://" not in text
    pins = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
    assert pins
    assert text.count("--hash=sha256:") >= len(pins)


@pytest.fixture(scope="module")
def fresh_venv(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "venv"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    python = venv / "bin" / "python"

    def uv(*args: str) -> None:
        subprocess.run([UV, *args], check=True, env=env)

    uv("venv", "--quiet", "--python", sys.executable, str(venv))
    uv("pip", "sync", "--quiet", "--python", str(python), "--require-hashes", str(LOCK))
    uv("pip", "install", "--quiet", "--python", str(python), "--no-deps", str(built_wheel))
    return venv


@pytest.mark.e2e
def test_both_jobs_run_end_to_end_from_the_installed_wheel(fresh_venv: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("IRIS_MLOPS_", "DATABRICKS_"))
    }
    # A fresh venv of our own: let the first process cache bytecode for the next ones.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"IRIS_MLOPS_HOME": str(home), "IRIS_MLOPS_GIT_COMMIT": "e2e"})
    bin_dir = fresh_venv / "bin"

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, check=False)

    installed = run(str(bin_dir / "python"), "-c", "import iris_mlops; print(iris_mlops.__file__)")
    assert str(fresh_venv) in installed.stdout

    result = run(str(bin_dir / "iris-mlops"), "run", "training", "batch-inference")
    assert result.returncode == 0, result.stdout + result.stderr

    bad = run(str(bin_dir / "iris-ingest"), "--colour=blue")
    assert bad.returncode == 2
    assert "--colour" in bad.stdout + bad.stderr

    predictions = DeltaTable(str(home / "tables/main/iris/iris_predictions")).to_pandas()
    assert len(predictions) == 150
    store = f"sqlite:///{home / 'mlflow.db'}"
    champion = MlflowClient(tracking_uri=store, registry_uri=store).get_model_version_by_alias(
        "main.iris.iris_classifier", "champion"
    )
    assert set(predictions["model_version"]) == {str(champion.version)}
    assert champion.tags["iris_mlops.git_commit"] == "e2e"
