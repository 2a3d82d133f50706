"""`make new-project`: the written project builds, plans its jobs from its wheel, runs them locally
and passes its own tests before any model code is written; a bad or taken name writes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from infra.wheel import read_wheel
from stacks import new_project

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DATE_EPOCH = "315532800"  # the Makefile's


def _copy(root: Path) -> Path:
    """What the scaffold reads and a project's build needs, in a temporary repository."""
    (root / "ml").mkdir(parents=True)
    for name in ("pyproject.toml", "hatch_build.py", "requirements.lock"):
        shutil.copy(ROOT / "ml" / name, root / "ml" / name)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "ml" / "src", root / "ml" / "src", ignore=ignore)
    shutil.copytree(ROOT / "ml" / "template", root / "ml" / "template", ignore=ignore)
    shutil.copytree(
        ROOT / "ml" / "projects" / "diabetes", root / "ml" / "projects" / "diabetes", ignore=ignore
    )
    return root


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(tmp_path_factory.mktemp("repository"))


def _tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Churn", "is not a project name"),
        ("x", "is not a project name"),
        ("churn_model", "is not a project name"),
        ("a-name-longer-than-twenty-one", "is not a project name"),
        ("iris", "is taken: Iris is ml/ itself"),
        ("diabetes", "is taken: ml/projects/diabetes exists"),
    ],
)
def test_a_bad_or_taken_name_is_refused_and_nothing_is_written(
    repository: Path, name: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _tree(repository)
    assert new_project.main([name], root=repository) == 2
    assert reason in capsys.readouterr().err
    assert _tree(repository) == before


@pytest.fixture(scope="module")
def written(repository: Path) -> Path:
    assert new_project.main(["churn-risk"], root=repository) == 0
    return repository / "ml" / "projects" / "churn-risk"


def test_it_writes_a_wheel_skeleton_and_prints_the_stack_entry(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert new_project.main(["fraud"], root=repository) == 0
    printed = capsys.readouterr().out
    assert "- name: fraud\n      path: ml/projects/fraud\n      primaryMetric: rmse\n" in printed
    # Pasted into the list it names; a second `mlops-platform:projects:` key would be refused.
    assert "mlops-platform:projects:\n" not in printed
    folder = repository / "ml" / "projects" / "fraud"
    expected = {
        "README.md",
        "pyproject.toml",
        "requirements.lock",
        "src/fraud_mlops/__init__.py",
        "src/fraud_mlops/job_graph.toml",
        "src/fraud_mlops/project.py",
        "src/fraud_mlops/py.typed",
        "tests/conftest.py",
        "tests/fraud_mlops_support.py",
        "tests/test_fraud_mlops_project.py",
    }
    assert {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()} == expected
    scripts = tomllib.loads((folder / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["fraud-train"] == "fraud_mlops.project:SCRIPTS.train"
    assert not [path for path in folder.parent.iterdir() if path.name.startswith(".")]  # nothing left aside


@pytest.mark.e2e
def test_the_written_project_builds_plans_runs_its_jobs_and_passes_its_tests(
    written: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "UV_PYTHON_DOWNLOADS": "never"}
    # The project's tests fit tiny models: OpenBLAS's pool would spin a thread per core on every
    # call (tests/ml/ml_support.py, ONE_BLAS_THREAD).
    env["OPENBLAS_NUM_THREADS"] = "1"
    uv = shutil.which("uv") or str(ROOT / ".tools" / "uv" / "bin" / "uv")
    build = [uv, "build", "--quiet", "--wheel", "--no-build-isolation", "--python", sys.executable]
    subprocess.run([*build, "--out-dir", str(tmp_path / "dist"), str(written)], check=True, env=env)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    contents = read_wheel(wheel)  # what infra plans the project's jobs from
    assert contents.graph.package_name == "churn_risk_mlops"
    assert {
        task.entry_point for job in contents.graph.jobs.values() for task in job.tasks
    } <= contents.console_scripts
    # Installed as a job would (the wheel alone, the framework inside it), then its own tests.
    site = tmp_path / "site"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], check=True, env=env
    )
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            # The template's tests use no Hypothesis; its plugin's import is ~1 s of CPU.
            "-p",
            "no:hypothesispytest",
            str(written / "tests"),
        ],
        cwd=written,
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "2 passed" in tests.stdout
