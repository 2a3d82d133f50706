"""`make new-project`: the written project passes the repository's lint whatever its name and kind,
builds, plans its jobs from its wheel, runs them locally and passes its own tests before any model
code is written; a bad or taken name, or a kind without a template, writes nothing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from mlops_framework.vocabulary import METRIC_FACTS, ProblemKind

from infra.wheel import read_wheel
from stacks import new_project

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DATE_EPOCH = "315532800"  # the Makefile's


def _copy(root: Path) -> Path:
    """What the scaffold reads and a project's build needs, in a temporary repository."""
    (root / "ml").mkdir(parents=True)
    for name in ("hatch_build.py", "serverless-environment-4.txt"):
        shutil.copy(ROOT / "ml" / name, root / "ml" / name)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "ml" / "projects").mkdir()
    shutil.copy(ROOT / "ml" / "projects" / "ruff.toml", root / "ml" / "projects" / "ruff.toml")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "ml" / "framework", root / "ml" / "framework", ignore=ignore)
    shutil.copytree(ROOT / "ml" / "template", root / "ml" / "template", ignore=ignore)
    for project in ("iris", "diabetes"):
        shutil.copytree(ROOT / "ml" / "projects" / project, root / "ml" / "projects" / project, ignore=ignore)
    return root


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy(tmp_path_factory.mktemp("repository"))


def _tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


@pytest.mark.parametrize(
    ("name", "kind", "reason"),
    [
        ("Churn", "regression", "is not a project name"),
        ("x", "regression", "is not a project name"),
        ("churn_model", "regression", "is not a project name"),
        ("a-name-longer-than-twenty-one", "regression", "is not a project name"),
        ("iris", "classification", "is taken: ml/projects/iris exists"),
        ("diabetes", "regression", "is taken: ml/projects/diabetes exists"),
        ("churn", "", "KIND is required; allowed: classification, regression"),
        ("churn", "forecast", "KIND='forecast' is not a kind; allowed: classification, regression"),
    ],
)
def test_a_bad_or_taken_name_or_an_unknown_kind_is_refused_and_nothing_is_written(
    repository: Path, name: str, kind: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _tree(repository)
    assert new_project.main([name, kind], root=repository) == 2
    assert reason in capsys.readouterr().err
    assert _tree(repository) == before


def test_every_template_kind_is_a_problem_kind_and_every_problem_kind_has_one() -> None:
    assert set(new_project.template_kinds(ROOT)) == {kind.value for kind in ProblemKind}
    for kind in ProblemKind:
        facts = new_project.load_kind(kind.value, ROOT)
        assert METRIC_FACTS[facts.primary_metric].kind is kind, "the kind's gate metric is of its kind"


# Names whose package sorts before and after the framework's and Iris's, with and without a hyphen.
@pytest.mark.parametrize("name", ["abacus", "hr-churn", "jade", "zulu-risk"])
@pytest.mark.parametrize("kind", [kind.value for kind in ProblemKind])
def test_what_it_writes_passes_the_repositorys_lint_for_any_name_and_kind(
    repository: Path, name: str, kind: str
) -> None:
    """ruff with the repository's settings (ml/projects/ruff.toml extends pyproject.toml), as
    `make lint` runs it; the written files are neither fixed nor reformatted by it."""
    assert new_project.main([name, kind], root=repository) == 0
    folder = repository / "ml" / "projects" / name
    try:
        ruff = str(ROOT / ".venv" / "bin" / "ruff")
        for check in ([ruff, "check", "--no-cache", "."], [ruff, "format", "--no-cache", "--check", "."]):
            done = subprocess.run(check, cwd=folder, capture_output=True, text=True, check=False)
            assert done.returncode == 0, f"{' '.join(check[1:])}:\n{done.stdout}{done.stderr}"
    finally:
        shutil.rmtree(folder)


@pytest.fixture(scope="module")
def written(repository: Path) -> Path:
    """A regression (the README's sequence, tests/demo/test_add_project.py, runs a classification)."""
    assert new_project.main(["churn-risk", "regression"], root=repository) == 0
    return repository / "ml" / "projects" / "churn-risk"


@pytest.mark.parametrize(("kind", "metric"), [("regression", "rmse"), ("classification", "f1_macro")])
def test_it_writes_a_wheel_skeleton_and_prints_the_stack_entry(
    repository: Path, kind: str, metric: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert new_project.main(["fraud", kind], root=repository) == 0
    printed = capsys.readouterr().out
    assert f"- name: fraud\n      path: ml/projects/fraud\n      primaryMetric: {metric}\n" in printed
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
    spec = (folder / "src" / "fraud_mlops" / "project.py").read_text(encoding="utf-8")
    assert f"kind=ProblemKind.{kind.upper()}," in spec
    assert f"KIND={kind}" in (folder / "README.md").read_text(encoding="utf-8")
    assert not [path for path in folder.parent.iterdir() if path.name.startswith(".")]  # nothing left aside
    # Nothing it says names Iris's package, tags or variables: the framework's or its own.
    iris_named = re.compile(r"IRIS_MLOPS|iris_mlops[._]")
    assert not [path for path in folder.rglob("*") if path.is_file() and iris_named.search(path.read_text())]
    shutil.rmtree(folder)


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
    # Installed as a job would (the wheel alone, its own copy of the framework inside it): its
    # front door starts from it.
    site = tmp_path / "site"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], check=True, env=env
    )
    probe = "from churn_risk_mlops.project import SCRIPTS; print(type(SCRIPTS).__module__)"
    installed = subprocess.run(
        [sys.executable, "-c", probe],
        env={**env, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.stdout.strip() == "churn_risk_mlops._framework.scripts", installed.stderr[-2000:]
    # Its tests, from its source, as `make test` runs them (the framework's editable install).
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
        env={**env, "PYTHONPATH": str(written / "src")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert "2 passed" in tests.stdout
