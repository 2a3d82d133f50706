"""The loop (steps/monitor.py, retrain.py): drift is measured per window, starts the training job
through the same gate, and starts it once per window; no drift and too little data start nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mlops_framework.steps.monitor as monitor_step
import pytest
from deltalake import DeltaTable
from fault_support import front_door, in_child
from iris_mlops.data import DRIFT_TABLE, FEATURE_COLUMNS, PREDICTIONS_TABLE, RETRAINS_TABLE
from iris_mlops.project import PROJECT as IRIS
from iris_mlops.samples import new_samples
from mlops_framework.backends import select_backend
from mlops_framework.backends.local import HOME_ENV_VAR, LocalBackend
from mlops_framework.context import TaskContext
from mlops_framework.errors import MissingStateError
from mlops_framework.job_graph import load_job_graph
from mlops_framework.params import TaskParameters
from mlops_framework.retrain import (
    DatabricksTrigger,
    LocalTrigger,
    RetrainRequest,
    RetrainStart,
    idempotency_token,
)
from mlops_framework.runner import run_job
from mlops_framework.steps.approve import GATE_STATUS_TAG
from mlops_framework.steps.monitor import current_window, monitor, thresholds, window_drift
from mlops_framework.steps.train import DRIFT_SUMMARY_TAG
from mlops_framework.vocabulary import CHALLENGER, CHAMPION

GRAPH = load_job_graph(IRIS.package)
SHIFT = {"petal_length_cm": 1.4, "petal_width_cm": 1.4}


@dataclass
class Recording:
    """A trigger that records what it was asked and starts nothing."""

    requests: list[RetrainRequest] = field(default_factory=list)

    def start(self, request: RetrainRequest) -> RetrainStart:
        self.requests.append(request)
        return RetrainStart(True, "recorded", "recorded")


def context(schema: str, **params: Any) -> TaskContext:
    return TaskContext.create("monitor", TaskParameters(schema=schema, **params), select_backend(), IRIS)


def trained_schema(schema: str) -> None:
    for job in ("training", "batch_inference"):
        report = run_job(GRAPH.job(job), [f"--schema={schema}"], project=IRIS)
        assert report.succeeded, report.outcomes


def score_shifted(home: Path, schema: str, rows: int = 400) -> None:
    backend = LocalBackend(home)
    ctx = context(schema)
    champion = ctx.alias_version(CHAMPION)
    assert champion is not None
    source = f"main.{schema}.incoming"
    backend.merge_rows(source, new_samples(rows, seed=7, scale=SHIFT, first_key=10_000), ("sample_id",), {})
    backend.score_table(
        ctx.model_uri(champion),
        champion.version,
        source,
        ctx.table(PREDICTIONS_TABLE),
        {},
        project=ctx.project,
    )


def drift_rows(home: Path, schema: str) -> list[dict[str, Any]]:
    rows = DeltaTable(str(home / "tables" / "main" / schema / DRIFT_TABLE)).to_pandas()
    return rows.sort_values("feature").to_dict("records")  # type: ignore[no-any-return]


def test_the_unshifted_window_triggers_nothing_and_is_recorded_per_feature(trained: Path) -> None:
    trained_schema("drift_none")
    trigger = Recording()
    said = monitor(context("drift_none"), trigger)
    assert "no drift; nothing triggered" in said
    assert trigger.requests == []
    rows = drift_rows(trained, "drift_none")
    champion = context("drift_none").alias_version(CHAMPION)
    assert champion is not None
    assert sorted(r["feature"] for r in rows) == sorted([*FEATURE_COLUMNS, "prediction"])
    assert {r["champion_version"] for r in rows} == {champion.version}
    assert {r["status"] for r in rows} == {"ok"}
    assert {r["window_id"] for r in rows} == {current_window(datetime.now(UTC))[2]}


def test_an_empty_window_is_not_enough_data_and_triggers_nothing(trained: Path) -> None:
    trained_schema("drift_empty")
    trigger = Recording()
    later = datetime(2031, 1, 1, 12, tzinfo=UTC)  # a day nothing was scored
    said = monitor(context("drift_empty"), trigger, now=later)
    assert "not enough data" in said
    assert trigger.requests == []
    rows = [r for r in drift_rows(trained, "drift_empty") if r["window_id"] == current_window(later)[2]]
    assert {r["status"] for r in rows} == {"not_enough_data"}
    assert len(rows) == 5


def forked_front_door(command: Sequence[str], **options: Any) -> subprocess.CompletedProcess[str]:
    """What LocalTrigger runs, from the fault tests' forkserver (fault_support.py): a process of
    its own as the console script would be, without importing mlflow and scikit-learn again
    (~4 s of CPU). The console script itself: it is the venv's `iris-mlops`, and test_ml_wheel.py
    checks that it runs Iris's front door (iris_mlops.project:SCRIPTS.cli)."""
    assert Path(command[0]) == Path(sys.executable).with_name("iris-mlops")
    assert Path(command[0]).is_file()
    environ = dict(options.pop("env"))
    assert options == {"capture_output": True, "text": True, "check": False}
    child = in_child(front_door, list(command[1:]), environ, home=Path(environ[HOME_ENV_VAR]))
    assert child.error is None, child
    return subprocess.CompletedProcess(command, child.value)


def test_drift_retrains_through_the_gate_a_worse_challenger_is_rejected_and_runs_once(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mlops_framework.retrain.subprocess", SimpleNamespace(run=forked_front_door))
    schema = "drift_loop"
    trained_schema(schema)
    score_shifted(trained, schema)
    champion = context(schema).alias_version(CHAMPION)
    assert champion is not None
    # The retrain fits a much weaker model (C=1e-4): the gate must reject it, drift or not.
    trigger = LocalTrigger(trained, HOME_ENV_VAR, IRIS.cli, extra_arguments=("--regularization=0.0001",))
    said = monitor(context(schema), trigger)
    assert "drift in" in said
    assert "petal_length_cm" in said
    assert "training job failed" in said
    assert "failed; champion v" in said
    ctx = context(schema)
    challenger = ctx.alias_version(CHALLENGER)
    assert challenger is not None
    assert challenger.version != champion.version
    assert challenger.tags[GATE_STATUS_TAG] == "failed"
    assert ctx.alias_version(CHAMPION) == champion  # kept
    run = ctx.client.get_run(str(ctx.client.get_model_version(ctx.model_name, challenger.version).run_id))
    assert json.loads(run.data.tags[DRIFT_SUMMARY_TAG])["champion_version"] == champion.version
    versions = len(ctx.client.search_model_versions(f"name='{ctx.model_name}'"))

    again = monitor(context(schema), trigger)  # the alert repeats in the same window
    assert "already started" in again
    assert "no second run" in again
    assert len(ctx.client.search_model_versions(f"name='{ctx.model_name}'")) == versions
    retrains = DeltaTable(str(trained / "tables" / "main" / schema / RETRAINS_TABLE)).to_pandas()
    assert len(retrains) == 1
    assert bool(retrains["started"].iloc[0])
    drifted = {r["feature"] for r in drift_rows(trained, schema) if r["status"] == "drift"}
    assert {"petal_length_cm", "petal_width_cm"} <= drifted


HOLD_LOCK = """
import sys, time
from pathlib import Path
from mlops_framework.locks import training_lock
with training_lock(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_the_local_trigger_starts_no_second_training_while_one_holds_the_lock(trained: Path) -> None:
    model = "main.drift_busy.iris_classifier"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(trained), model], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        request = RetrainRequest(model, "w", "{}", ("--schema=drift_busy",))
        started = LocalTrigger(trained, HOME_ENV_VAR, IRIS.cli).start(request)
        assert not started.started
        assert "no second retrain" in started.detail
    finally:
        holder.kill()
        holder.wait()


class FakeJobs:
    def __init__(self, jobs: list[int], active: list[int]) -> None:
        self.jobs, self.active = jobs, active
        self.started: list[dict[str, Any]] = []

    def list(self, name: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(job_id=job_id) for job_id in self.jobs]

    def list_runs(self, job_id: int, active_only: bool) -> list[SimpleNamespace]:
        assert active_only
        return [SimpleNamespace(run_id=run_id) for run_id in self.active]

    def run_now(self, **kwargs: Any) -> SimpleNamespace:
        self.started.append(kwargs)
        return SimpleNamespace(run_id=77)


def test_databricks_trigger_calls_run_now_with_the_window_token_and_the_summary() -> None:
    jobs = FakeJobs([12], [])
    request = RetrainRequest("c.s.m", "2026-11-28T00:00Z/24h", '{"drifted": {}}', ())
    started = DatabricksTrigger(SimpleNamespace(jobs=jobs), "mlops-dev-training").start(request)  # type: ignore[arg-type]
    assert started.started
    assert started.run == "77"
    assert jobs.started == [
        {
            "job_id": 12,
            "job_parameters": {"drift_summary": '{"drifted": {}}'},
            "idempotency_token": request.token,
        }
    ]
    assert len(request.token) <= 64
    assert request.token == idempotency_token("c.s.m", "2026-11-28T00:00Z/24h")
    assert idempotency_token("c.s.m", "another window") != request.token


def test_databricks_trigger_starts_nothing_while_a_training_run_is_active() -> None:
    jobs = FakeJobs([12], [5])
    started = DatabricksTrigger(SimpleNamespace(jobs=jobs), "x").start(RetrainRequest("m", "w", "{}", ()))  # type: ignore[arg-type]
    assert not started.started
    assert jobs.started == []


@pytest.mark.parametrize("found", [[], [1, 2]], ids=["missing", "ambiguous"])
def test_databricks_trigger_needs_exactly_one_training_job(found: list[int]) -> None:
    with pytest.raises(MissingStateError, match="expected one job named 'x'"):
        DatabricksTrigger(SimpleNamespace(jobs=FakeJobs(found, [])), "x").start(
            RetrainRequest("m", "w", "{}", ())
        )  # type: ignore[arg-type]


def test_above_the_row_limit_drift_comes_from_summaries_and_the_training_runs_profile(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same decisions as the exact path on a drifted window; the reference is the profile the
    champion's training logged (the feature table is not read), the window summarised."""
    trained_schema("drift_summaries")
    score_shifted(trained, "drift_summaries")
    ctx = context("drift_summaries")
    champion = ctx.alias_version(CHAMPION)
    assert champion is not None
    start, end, _ = current_window(datetime.now(UTC))
    limits = thresholds(ctx)
    exact, window_rows, reference_rows = window_drift(ctx, champion, start, end, limits)
    monkeypatch.setattr(monitor_step, "EXACT_MAX_ROWS", 10)
    features = ctx.table(ctx.project.tables.features)
    real_read = LocalBackend.read_table

    def read_table(self: LocalBackend, table: str) -> Any:
        assert table != features, "the summary path read the feature table"
        return real_read(self, table)

    monkeypatch.setattr(LocalBackend, "read_table", read_table)
    summarised, *counts = window_drift(ctx, champion, start, end, limits)
    assert counts == [window_rows, reference_rows]
    assert [(r.feature, r.status) for r in summarised] == [(r.feature, r.status) for r in exact]
    assert {r.feature for r in exact if r.drifted} >= {"petal_length_cm", "petal_width_cm"}
    assert [r.psi for r in summarised] == pytest.approx([r.psi for r in exact], rel=1e-9)
