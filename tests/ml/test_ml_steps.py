"""Each step and both jobs on the local backend, sharing one session store (see conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from iris_mlops.data import FEATURES_TABLE, KEY_COLUMN, PREDICTIONS_TABLE, load_iris_frame
from iris_mlops.project import PROJECT as IRIS
from iris_mlops.project import SCRIPTS as IRIS_SCRIPTS
from ml_support import TEST_COMMIT
from mlflow import MlflowClient
from mlops_framework.backends import select_backend
from mlops_framework.context import TaskContext, experiment_name
from mlops_framework.errors import GateFailedError, MissingStateError
from mlops_framework.gate import APPROVAL_TAG, APPROVED, AWAITING_APPROVAL
from mlops_framework.job_graph import load_job_graph
from mlops_framework.params import Environment, TaskParameters
from mlops_framework.runner import TaskStatus, run_job
from mlops_framework.steps.approve import GATE_STATUS_TAG, approve
from mlops_framework.steps.batch_inference import batch_inference
from mlops_framework.steps.deploy import deploy
from mlops_framework.steps.evaluate import evaluate
from mlops_framework.steps.ingest import ingest
from mlops_framework.steps.train import train
from mlops_framework.vocabulary import CHALLENGER, CHAMPION

GRAPH = load_job_graph(IRIS.package)
SPECIES = {"setosa", "versicolor", "virginica"}


def context(task: str = "test", **params: Any) -> TaskContext:
    return TaskContext.create(task, TaskParameters(**params), select_backend(), IRIS)


def table(home: Path, name: str, schema: str = "iris") -> DeltaTable:
    return DeltaTable(str(home / "tables" / "main" / schema / name))


def state(home: Path) -> dict[str, object]:
    """What a rerun must not change: row counts, aliases, number of model versions."""
    ctx = context()
    versions = ctx.client.search_model_versions(f"name='{ctx.model_name}'")
    aliases = {alias: getattr(ctx.alias_version(alias), "version", None) for alias in (CHALLENGER, CHAMPION)}
    counts = {
        name: table(home, name).count() for name in (FEATURES_TABLE, PREDICTIONS_TABLE, "iris_deployments")
    }
    return {"versions": len(versions), "aliases": aliases, "rows": counts}


def train_until_evaluated(ctx_params: dict[str, Any], shuffle_labels_seed: int | None = None) -> None:
    ingest(context("ingest", **ctx_params))
    train(context("train", **ctx_params), shuffle_labels_seed=shuffle_labels_seed)
    evaluate(context("evaluate", **ctx_params))


def test_first_training_run_makes_an_evaluated_approved_champion(trained: Path) -> None:
    ctx = context()
    champion = ctx.alias_version(CHAMPION)
    assert champion is not None
    assert champion == ctx.alias_version(CHALLENGER)
    assert champion.tags[GATE_STATUS_TAG] == "passed"
    assert float(champion.tags["eval_f1_macro"]) > 0.8
    assert champion.tags["iris_mlops_wheel_version"] == IRIS.version


def test_ingest_rerun_merges_and_never_duplicates_rows(trained: Path) -> None:
    ingest(context("ingest"))
    ingest(context("ingest"))
    rows = table(trained, FEATURES_TABLE).to_pandas()
    assert len(rows) == len(load_iris_frame())
    assert rows[KEY_COLUMN].is_unique


def test_batch_inference_writes_champion_predictions_with_version_and_time(trained: Path) -> None:
    champion = context().alias_version(CHAMPION)
    assert champion is not None
    rows = table(trained, PREDICTIONS_TABLE).to_pandas()
    assert len(rows) == len(load_iris_frame())
    assert set(rows["model_version"]) == {champion.version}
    assert set(rows["prediction"]) <= SPECIES
    assert rows["scored_at"].notna().all()
    assert str(rows["scored_at"].dtype).endswith("UTC]")


def test_rerunning_both_jobs_is_idempotent(trained: Path) -> None:
    before = state(trained)
    for job in ("training", "batch-inference"):
        assert run_job(GRAPH.job(job), project=IRIS).succeeded
    assert state(trained) == before


def test_runs_go_to_the_experiment_the_platform_names(trained: Path) -> None:
    """On Databricks Pulumi creates the experiment (owned by the job principal) and passes it."""
    name = "/Shared/mlops-dev-iris_classifier"
    for job in ("training", "batch-inference"):
        assert run_job(GRAPH.job(job), [f"--experiment_name={name}"], project=IRIS).succeeded
    client = MlflowClient()
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    tasks = {run.data.tags["iris_mlops_task"] for run in client.search_runs([experiment.experiment_id])}
    # A rerun on the same data by the same code keeps the champion as challenger: train, evaluate
    # and deploy have nothing to do; approve records its verdict (nothing new) there.
    assert tasks == {"approve", "batch-inference"}


def test_every_run_records_its_provenance(trained: Path) -> None:
    client = MlflowClient()
    experiment = client.get_experiment_by_name(experiment_name(TaskParameters()))
    runs = client.search_runs([experiment.experiment_id])
    assert {run.data.tags["iris_mlops_task"] for run in runs} >= {"train", "evaluate", "approve", "deploy"}
    for run in runs:
        tags = run.data.tags
        assert tags["iris_mlops_git_commit"] == TEST_COMMIT
        assert tags["iris_mlops_wheel_version"] == IRIS.version
        assert tags["iris_mlops_backend"] == "local"
        assert tags["iris_mlops_env"] in set(Environment)


def test_evaluation_metrics_are_logged_on_the_challengers_model(trained: Path) -> None:
    ctx = context()
    challenger = ctx.alias_version(CHALLENGER)
    assert challenger is not None
    assert challenger.model_id is not None
    logged = {metric.key for metric in ctx.client.get_logged_model(challenger.model_id).metrics or []}
    assert {"holdout_f1_macro", "holdout_accuracy"} <= logged


def test_worse_challenger_never_becomes_champion(trained: Path) -> None:
    params = {"schema": "worse_challenger"}
    train_until_evaluated(params)
    approve(context("approve", **params))
    deploy(context("deploy", **params))
    champion = context(**params).alias_version(CHAMPION)
    assert champion is not None

    train_until_evaluated(params, shuffle_labels_seed=7)
    challenger = context(**params).alias_version(CHALLENGER)
    assert challenger is not None
    assert challenger.version != champion.version
    with pytest.raises(GateFailedError, match="champion unchanged"):
        approve(context("approve", **params))
    with pytest.raises(GateFailedError, match="gate status 'failed'"):
        deploy(context("deploy", **params))
    assert context(**params).alias_version(CHAMPION) == champion


def test_uat_gate_waits_for_the_human_approval_tag(trained: Path) -> None:
    """No approval yet is a waiting state: approve and deploy succeed and change nothing."""
    params = {"schema": "uat_gate", "env": Environment.UAT, "require_approval": True}
    train_until_evaluated(params)
    assert "awaits approval" in approve(context("approve", **params))
    assert "awaits approval" in deploy(context("deploy", **params))
    ctx = context(**params)
    challenger = ctx.alias_version(CHALLENGER)
    assert challenger is not None
    assert challenger.tags[GATE_STATUS_TAG] == AWAITING_APPROVAL
    assert ctx.alias_version(CHAMPION) is None
    ctx.client.set_model_version_tag(ctx.model_name, challenger.version, APPROVAL_TAG, APPROVED)
    approve(context("approve", **params))
    deploy(context("deploy", **params))
    assert ctx.alias_version(CHAMPION) == ctx.alias_version(CHALLENGER)


def test_training_job_waiting_for_approval_succeeds_without_deploying(trained: Path) -> None:
    uat = ["--schema=needs_approval", "--env=uat", "--require_approval=true"]  # as the platform passes it
    report = run_job(GRAPH.job("training"), uat, project=IRIS)
    assert report.succeeded, report.outcomes
    ctx = context(schema="needs_approval", env=Environment.UAT)
    assert ctx.alias_version(CHAMPION) is None
    challenger = ctx.alias_version(CHALLENGER)
    assert challenger is not None
    assert challenger.tags[GATE_STATUS_TAG] == AWAITING_APPROVAL
    ctx.client.set_model_version_tag(ctx.model_name, challenger.version, APPROVAL_TAG, APPROVED)
    assert run_job(GRAPH.job("release"), uat, project=IRIS).succeeded
    assert ctx.alias_version(CHAMPION) == ctx.alias_version(CHALLENGER)


def test_runner_names_the_failed_task_and_skips_its_dependants(trained: Path) -> None:
    # C=1e-6 regularizes the classifier into one constant answer: below every minimum score.
    report = run_job(GRAPH.job("training"), ["--schema=underfit", "--regularization=1e-6"], project=IRIS)
    statuses = {outcome.key: outcome.status for outcome in report.outcomes}
    assert not report.succeeded
    assert report.failed_task is not None
    assert report.failed_task.key == "approve"
    assert statuses["evaluate"] is TaskStatus.SUCCEEDED
    assert statuses["deploy"] is TaskStatus.SKIPPED
    assert context(schema="underfit").alias_version(CHAMPION) is None


def test_batch_inference_without_a_champion_says_to_train_first(ml_home: Path) -> None:
    ingest(context("ingest", schema="never_trained"))
    with pytest.raises(MissingStateError, match="run the training job first"):
        batch_inference(context("batch-inference", schema="never_trained"))


def test_entry_point_exits_non_zero_on_a_bad_parameter(ml_home: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        IRIS_SCRIPTS.ingest(["--model_name=x"])
    assert exited.value.code == 2


def test_a_new_regularization_trains_a_new_challenger_and_the_same_one_does_not() -> None:
    """The training fingerprint covers the hyperparameters: a rerun with the same C is skipped,
    another C trains anew (how `make demo` shows the gate on every rerun)."""
    from iris_mlops.project import build_pipeline  # noqa: PLC0415
    from mlops_framework.steps.train import fingerprint  # noqa: PLC0415

    frame = IRIS.load_frame()
    features, labels = IRIS.features_of(frame), IRIS.labels_of(frame)
    default = fingerprint(features, labels, build_pipeline(), "0.1.0")
    assert fingerprint(features, labels, build_pipeline(1.0), "0.1.0") == default
    assert fingerprint(features, labels, build_pipeline(0.1), "0.1.0") != default
    assert fingerprint(features, labels, build_pipeline(), "0.2.0") != default  # a new wheel retrains
    assert build_pipeline(0.1).get_params()["classify__C"] == 0.1
