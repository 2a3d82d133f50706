"""The built wheel: reproducible, carries the job graph and its entry points, and runs both jobs
end to end when installed alone into a fresh venv from the hashed ml/requirements.lock."""

from __future__ import annotations

import configparser
import hashlib
import zipfile
from pathlib import Path

from iris_mlops.job_graph import WHEEL_MEMBER, load_job_graph, load_job_graph_from_wheel
from ml_support import COMPLETE, LOCK, build_wheel, venv_key


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


def test_the_e2e_venv_holds_the_locked_dependencies_and_this_wheel(
    wheel_env: Path, built_wheel: Path
) -> None:
    """The reused venv is keyed by the lock and the wheel bytes: any change gives a new one."""
    assert wheel_env.name == venv_key(built_wheel)
    assert (wheel_env / COMPLETE).read_text() == built_wheel.name
    (site_packages,) = wheel_env.glob("lib/python*/site-packages")
    (record,) = site_packages.glob("iris_mlops-*.dist-info/RECORD")
    installed = {line.split(",")[0] for line in record.read_text().splitlines()}
    with zipfile.ZipFile(built_wheel) as archive:
        assert {name for name in archive.namelist() if not name.endswith("/")} <= installed
        for name in archive.namelist():
            if name.startswith("iris_mlops/") and name.endswith(".py"):
                assert (site_packages / name).read_bytes() == archive.read(name), name
