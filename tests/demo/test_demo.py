"""`make demo`: each stage on its own, and the whole demo end to end on a free local port."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from demo_support import DemoRuns
from rich.console import Console

from core.environment import Environment
from demo import stages
from demo.ml_state import MODEL, champion_version, gate_table, predictions_written, registered_versions
from demo.plan_summary import PROVIDERS, compact_plan
from demo.projects import DIABETES_DEMO
from demo.stage_runner import Stage, StageError, StageResult, run_stages, timing_table
from stacks.console import cli_console
from stacks.offline import OfflineRun
from stacks.plan import settings_differences

ROOT = Path(__file__).resolve().parents[2]


def test_run_stages_stops_at_the_first_failure_and_names_it() -> None:
    ran: list[str] = []

    def ok(key: str) -> StageResult:
        ran.append(key)
        return StageResult(f"{key} done")

    def broken() -> StageResult:
        raise StageError("the wheel is missing: run `make wheel`")

    demo = [
        Stage("a", "first", lambda: ok("a")),
        Stage("b", "second", broken),
        Stage("c", "third", lambda: ok("c")),
    ]
    outcomes = run_stages(demo, Console(record=True, width=120))
    assert ran == ["a"]
    assert [o.stage.key for o in outcomes] == ["a", "b"]
    assert outcomes[1].error == "the wheel is missing: run `make wheel`"
    console = Console(record=True, width=120)
    console.print(timing_table(outcomes))
    assert "FAILED: the wheel is missing" in console.export_text()


def test_compact_plan_counts_every_resource_of_every_stack(plans: dict[Environment, OfflineRun]) -> None:
    table, total = compact_plan(plans, ROOT)
    assert total == sum(sum(r.custom for r in run.resources) for run in plans.values())
    console = Console(record=True, width=200)
    console.print(table)
    text = console.export_text()
    for label in PROVIDERS.values():
        assert label in text
    assert "workspace.noPublicIp" in text  # a setting that differs between environments


def _stack_files(tmp_path: Path) -> Path:
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        shutil.copy(stack_file, tmp_path / stack_file.name)
    for folder in ("ml/projects/iris", "ml/projects/diabetes"):  # each promoted project's version
        (tmp_path / folder).mkdir(parents=True)
        shutil.copy(ROOT / folder / "pyproject.toml", tmp_path / folder / "pyproject.toml")
    shutil.copytree(ROOT / "dist", tmp_path / "dist")  # the built wheels, whose sha256 promotion pins
    return tmp_path


def test_promotion_dry_run_shows_the_pin_and_writes_nothing(tmp_path: Path) -> None:
    root = _stack_files(tmp_path)
    before = (root / "Pulumi.prod.yaml").read_bytes()
    result = stages.promote_dry_run(stages.DemoPaths(root))
    assert "projects[iris].wheelVersion, projects[diabetes].wheelVersion" in result.summary
    assert "projects[iris].wheelSha256" in result.summary  # the bytes uat ran (issue 29, finding 7)
    assert (root / "Pulumi.prod.yaml").read_bytes() == before


def test_promotion_refusal_is_a_failed_stage_with_the_reason(tmp_path: Path) -> None:
    root = _stack_files(tmp_path)
    uat = root / "Pulumi.uat.yaml"
    uat.write_text(uat.read_text().split("  # The release under test")[0])  # drop the wheel pin
    with pytest.raises(StageError, match="pins no wheel"):
        stages.promote_dry_run(stages.DemoPaths(root))


@pytest.mark.e2e
def test_the_demo_runs_end_to_end_then_the_gate_guards_the_champion(demo_runs: DemoRuns) -> None:
    """The one end-to-end run of both jobs from the built wheel in an isolated venv, as a user
    runs `make demo` (then retrains once more)."""
    code, output = demo_runs.wait()
    assert code == 0, output[-3000:]
    flowing = " ".join(output.split())  # rich wraps lines at the terminal's width
    first, second = flowing.split("summary: where things are", 1)
    assert "the challenger passed the gate and is champion" in first
    assert "served the champion on http://127.0.0.1:" in first
    assert "'setosa'" in first  # the scored sample's first flower
    # uat's require_approval reaches the local run from the platform's settings (demo/approval.py).
    assert "waited for approval, was approved and released" in first
    assert "promotion uat -> prod would change projects[iris].wheelVersion" in first
    assert "champion vNone" not in first  # before the first approval there is no champion: "none"
    # Where the drift loop's own store is, with the MLflow UI command that shows its runs.
    assert "/drift/mlflow.db" in second
    # Run again: the next challenger (C=0.1) scores below the champion; the gate keeps v1.
    assert "the gate rejected the challenger; the champion is unchanged" in second
    # ...and the approval path is shown again, not "nothing awaits approval".
    assert "waited for approval, was approved and released" in second
    assert registered_versions(demo_runs.home) == 2
    _, status = gate_table(demo_runs.home)
    assert status == "failed"
    written = predictions_written(demo_runs.home)
    assert (written.rows, written.total_rows, written.model_version) == (150, 150, "1"), MODEL


@pytest.mark.e2e
def test_the_demo_shows_the_regression_gated_by_its_metrics_direction(demo_runs: DemoRuns) -> None:
    """The second project from its own wheel: alpha=1 becomes champion by its RMSE (lower is
    better); its batch and endpoint give numbers."""
    code, output = demo_runs.wait()
    assert code == 0, output[-3000:]
    first, _ = " ".join(output.split()).split("summary: where things are", 1)
    passed = "trained with alpha=1.0: the challenger passed the gate and is champion (rmse, lower is better)"
    assert passed in first
    assert "442 rows scored by champion v1 into main.diabetes.diabetes_predictions" in first
    # The regression's own endpoint answered numbers, not classes. (Counting the phrase instead
    # depended on whether rich folded it inside the timing table too.)
    numbers_served = r"served the champion on http://127\.0\.0\.1:\d+, answered \[\d+\.\d+, \d+\.\d+\]"
    assert re.search(numbers_served, first)
    assert registered_versions(demo_runs.home, DIABETES_DEMO) == 1
    assert gate_table(demo_runs.home, DIABETES_DEMO)[1] == "passed"
    assert str(champion_version(demo_runs.home, DIABETES_DEMO).version) == "1"


@pytest.mark.e2e
def test_the_jobs_ran_from_the_wheel_installed_in_the_job_venv(demo_runs: DemoRuns) -> None:
    code, output = demo_runs.wait()
    assert code == 0, output[-3000:]
    environment, built = stages.DemoPaths(ROOT, home=demo_runs.home, venvs=demo_runs.venvs).job_environment()
    assert not built, "the demo's job venv is the one for this wheel"
    located = environment.run(["python", "-c", "import iris_mlops; print(iris_mlops.__file__)"], cwd=ROOT)
    assert located.stdout.startswith(str(environment.venv))
    bad = environment.run(["iris-ingest", "--colour=blue"], cwd=ROOT)
    assert bad.returncode == 2
    assert "--colour" in bad.stdout + bad.stderr
    champion = champion_version(demo_runs.home)
    if demo_runs.commit is not None:  # provenance: the run records the commit its wheel came from
        packaged = environment.run(
            [
                "python",
                "-c",
                "from iris_mlops._framework.provenance import packaged_commit; print(packaged_commit())",
            ],
            cwd=ROOT,
        )
        assert packaged.stdout.strip().removesuffix("-dirty") == demo_runs.commit
        assert champion.tags["iris_mlops_git_commit"] == packaged.stdout.strip()
    assert champion.tags["iris_mlops_env"] == "dev"


def test_the_demos_what_differs_table_shows_whole_values_in_a_log(
    plans: dict[Environment, OfflineRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's output lands in CI logs too: no `sandb…`, `mlops…` or `["mlo…` there."""
    monkeypatch.delenv("COLUMNS", raising=False)
    buffer = io.StringIO()
    console = cli_console(file=buffer)
    console.print(compact_plan(plans, ROOT)[0])
    text = buffer.getvalue()
    assert "…" not in text
    for key, per_env in settings_differences(ROOT).items():
        assert key in text, f"the setting {key} is not shown by its whole name"
        for value in per_env.values():
            shown = value if isinstance(value, str) else json.dumps(value)
            assert shown in text, f"{key}: {shown} is not shown whole"
