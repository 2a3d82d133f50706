"""``make demo``: build, plan, train behind the gate, approve, score in batch, retrain on drift, serve,
promote; then the second project (a regression gated on RMSE) trained, scored and served; offline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.panel import Panel

from demo import stages
from demo.projects import DIABETES_DEMO
from demo.stage_runner import Stage, StageOutcome, run_stages, timing_table
from stacks.console import cli_console

ROOT = Path(__file__).resolve().parent.parent


def demo_stages(paths: stages.DemoPaths, port: int | None = None) -> list[Stage]:
    return [
        Stage("wheel", "build every ML project's wheel", lambda: stages.build_wheel(paths)),
        Stage("plan", "plan sandbox, dev, uat and prod offline", lambda: stages.plan_all_stacks(paths)),
        Stage(
            "train", "install the wheel like a job does; run the training job", lambda: stages.train(paths)
        ),
        Stage(
            "approve",
            "uat-like: training waits for an approver, who approves and releases",
            lambda: stages.approve(paths),
        ),
        Stage("batch", "run the batch inference job", lambda: stages.batch_inference(paths)),
        Stage(
            "drift",
            "in a store of its own: an unshifted, then a shifted batch; monitoring retrains through the gate",
            lambda: stages.drift(paths),
        ),
        Stage("serve", "serve the champion and score a request", lambda: stages.serve(paths, port)),
        Stage("promote", "dry-run the promotion uat -> prod", lambda: stages.promote_dry_run(paths)),
        Stage(
            "diabetes-train",
            "the second project from its own wheel: training gated on RMSE (lower is better)",
            lambda: stages.train(paths, DIABETES_DEMO),
        ),
        Stage(
            "diabetes-batch",
            "its batch inference job: a number per patient",
            lambda: stages.batch_inference(paths, DIABETES_DEMO),
        ),
        Stage(
            "diabetes-serve",
            "serve its champion and score a request in its own signature",
            lambda: stages.serve(paths, port, DIABETES_DEMO),
        ),
    ]


def summary(paths: stages.DemoPaths, outcomes: Sequence[StageOutcome]) -> Panel:
    local, venvs = _shown(paths.local, paths.root), _shown(paths.job_venvs, paths.root)
    lines = [
        f"tables (Delta):        {local}/tables/main/iris/ and {local}/tables/main/diabetes/",
        f"MLflow store (SQLite): {local}/mlflow.db, artefacts in {local}/artifacts/",
        f"job venvs:             {venvs}/ (the wheel and its locked dependencies only)",
        f"drift loop:            {local}/drift/ (its own tables and MLflow store, new on each run)",
        f"MLflow UI:             .venv/bin/mlflow ui --backend-store-uri sqlite:///{local}/mlflow.db",
        f"  the drift loop's:    .venv/bin/mlflow ui --backend-store-uri sqlite:///{local}/drift/mlflow.db",
        "run it again:          make demo  (a retrained challenger must beat the champion)",
        f"total:                 {sum(o.seconds for o in outcomes):.1f}s",
    ]
    return Panel("\n".join(lines), title="summary: where things are", expand=False)


def _shown(path: Path, root: Path) -> Path:
    return path.relative_to(root) if path.is_relative_to(root) else path


def main(argv: Sequence[str] | None = None, paths: stages.DemoPaths | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--port", type=int, default=None, help="port for the serving stage (default: free)")
    parser.add_argument("--home", type=Path, default=None, help="where the jobs write (default: .local)")
    parser.add_argument("--venvs", type=Path, default=None, help="job venvs (default: <home>/job-venvs)")
    parser.add_argument("--stages", default=None, help="comma-separated stage keys to run (default: all)")
    args = parser.parse_args(argv)
    console = cli_console()
    paths = paths or stages.DemoPaths(ROOT, home=args.home, venvs=args.venvs)
    chosen = demo_stages(paths, args.port)
    if args.stages:
        keys = [key.strip() for key in args.stages.split(",")]
        unknown = sorted(set(keys) - {stage.key for stage in chosen})
        if unknown:
            allowed = ", ".join(stage.key for stage in chosen)
            parser.error(f"--stages: unknown stage {', '.join(unknown)}; allowed: {allowed}")
        chosen = [stage for stage in chosen if stage.key in keys]
    outcomes = run_stages(chosen, console)
    console.rule()
    console.print(timing_table(outcomes))
    failed = any(o.error for o in outcomes)
    if not failed and not args.stages:
        console.print(summary(paths, outcomes))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
