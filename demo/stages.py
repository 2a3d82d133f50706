"""The demo's stages: each a plain function over ``DemoPaths`` returning a ``StageResult``.

They drive the real things a user would: the Makefile's wheel build, the offline plan, the wheel's
console scripts in an isolated venv, its serving endpoint over HTTP, and the promotion engine.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlops_framework.vocabulary import direction_of
from rich.console import Group
from rich.syntax import Syntax
from rich.table import Table

from core.environment import Environment
from demo.approval import approval
from demo.drift_loop import drift_loop
from demo.job_env import JobEnvironment, wheel_venv
from demo.ml_state import gate_table, predictions_written, registered_versions
from demo.plan_summary import compact_plan
from demo.projects import IRIS_DEMO, PROJECTS, DemoProject
from demo.serve_champion import score_once
from demo.stage_runner import StageError, StageResult
from stacks.plan import plan_stack
from stacks.promote import PromotionRefusedError, plan_promotion
from stacks.settings import promotable_keys

DEMO_ENV = "dev"  # the environment the local jobs pretend to be (gate rules, names)


@dataclass(frozen=True)
class DemoPaths:
    """The repository the demo runs from, and where it writes (tests point these elsewhere)."""

    root: Path
    home: Path | None = None  # tables, MLflow store, artefacts (default: <root>/.local)
    venvs: Path | None = None  # job venvs, one per wheel (default: <home>/job-venvs)

    @property
    def local(self) -> Path:
        return self.home or self.root / ".local"

    @property
    def job_venvs(self) -> Path:
        return self.venvs or self.local / "job-venvs"

    def wheel(self, project: DemoProject = IRIS_DEMO) -> Path:
        dist = project.dist(self.root)
        wheels = sorted(dist.glob("*.whl"))
        if len(wheels) != 1:
            raise StageError(f"expected one wheel in {dist}, found {len(wheels)}: run `make wheel`")
        return wheels[0]

    def job_environment(self, project: DemoProject = IRIS_DEMO) -> tuple[JobEnvironment, bool]:
        """The project wheel's own job venv (built now if it had to be: the bool) and the demo's
        home, which every project shares (each has its own schema, tables and model)."""
        venv, built = wheel_venv(self.wheel(project), self.job_venvs, project.lock(self.root))
        return JobEnvironment(venv=venv, home=self.local), built


def build_wheel(paths: DemoPaths) -> StageResult:
    done = subprocess.run(
        ["make", "--no-print-directory", "-s", "wheel"],  # noqa: S607 - make from PATH, as a user runs it
        cwd=paths.root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise StageError(f"`make wheel` failed: {done.stderr.strip()[-500:]}")
    wheels = [paths.wheel(project) for project in PROJECTS]
    built = ", ".join(
        f"{wheel.parent.name}/{wheel.name} ({wheel.stat().st_size / 1024:.0f} KiB, "
        f"sha256 {hashlib.sha256(wheel.read_bytes()).hexdigest()[:12]}…)"
        for wheel in wheels
    )
    return StageResult(f"built {built}", facts={"wheel": wheels[0], "wheels": wheels})


def plan_all_stacks(paths: DemoPaths) -> StageResult:
    runs = {env: plan_stack(env, paths.root) for env in Environment}
    table, total = compact_plan(runs, paths.root)
    counts = ", ".join(f"{env} {sum(r.custom for r in run.resources)}" for env, run in runs.items())
    return StageResult(f"planned 4 stacks offline: {counts} resources", table, {"resources": total})


def train(paths: DemoPaths, project: DemoProject = IRIS_DEMO) -> StageResult:
    environment, rebuilt = paths.job_environment(project)
    rotation = project.rotation
    regularization = rotation[registered_versions(paths.local, project) % len(rotation)]
    done = environment.run(
        [project.spec.cli, "run", "training", f"--env={DEMO_ENV}", f"--regularization={regularization}"],
        cwd=paths.root,
    )
    gate, decision = gate_table(paths.local, project)
    if done.returncode != 0 and decision != "failed":  # a failed gate is the gate working
        raise StageError(f"the training job failed:\n{_tail(done)}")
    installed = "installed the wheel into a fresh job venv" if rebuilt else "reused the job venv"
    verdict = {
        "passed": "the challenger passed the gate and is champion",
        "failed": "the gate rejected the challenger; the champion is unchanged",
    }.get(decision, f"gate status: {decision}")
    direction = f"{project.metric}, {direction_of(project.metric)} is better"
    verdict = f"trained with {project.strength}={regularization}: {verdict} ({direction})"
    return StageResult(f"{installed}; {verdict}", Group(_task_table(done), gate), {"gate": decision})


def approve(paths: DemoPaths) -> StageResult:
    return approval(paths.job_environment()[0], paths.root, paths.local)


def batch_inference(paths: DemoPaths, project: DemoProject = IRIS_DEMO) -> StageResult:
    done = paths.job_environment(project)[0].run(
        [project.spec.cli, "run", "batch-inference", f"--env={DEMO_ENV}"], cwd=paths.root
    )
    if done.returncode != 0:
        raise StageError(f"the batch inference job failed:\n{_tail(done)}")
    written = predictions_written(paths.local, project)
    return StageResult(
        f"{written.rows} rows scored by champion v{written.model_version} into {written.table}",
        facts={"rows": written.rows},
    )


def drift(paths: DemoPaths) -> StageResult:
    return drift_loop(paths.job_environment()[0], paths.root)


def serve(paths: DemoPaths, port: int | None = None, project: DemoProject = IRIS_DEMO) -> StageResult:
    exchange = score_once(paths.job_environment(project)[0], DEMO_ENV, port, project)
    shown = Table.grid(padding=(0, 1))
    shown.add_row("[bold]POST", exchange.path, "(Authorization: Bearer …)")
    shown.add_row("[bold]request", "", Syntax(json.dumps(exchange.request), "json", word_wrap=True))
    shown.add_row("[bold]response", "", Syntax(json.dumps(exchange.response), "json", word_wrap=True))
    predictions = exchange.response.get("predictions")
    return StageResult(
        f"served the champion on {exchange.base_url}, answered {predictions}, stopped",
        shown,
        {"exchange": exchange},
    )


def promote_dry_run(paths: DemoPaths) -> StageResult:
    try:
        promotion = plan_promotion(paths.root, "uat", "prod", promotable_keys())
    except PromotionRefusedError as refusal:
        raise StageError(f"promotion uat -> prod refused: {refusal}") from refusal
    if not promotion.changed_keys:
        return StageResult("Pulumi.prod.yaml already pins what uat runs: nothing to promote")
    diff = Syntax(promotion.diff(), "diff", background_color="default")
    keys = ", ".join(promotion.changed_keys)
    return StageResult(f"promotion uat -> prod would change {keys} (dry run, nothing written)", diff)


def _task_table(done: subprocess.CompletedProcess[str]) -> Table:
    """The job runner's own task table, as it printed it."""
    table = Table.grid()
    lines = done.stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("job ")), len(lines))
    table.add_row("\n".join(lines[start:]) or _tail(done))
    return table


def _tail(done: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    return "\n".join((done.stdout + done.stderr).strip().splitlines()[-lines:])
