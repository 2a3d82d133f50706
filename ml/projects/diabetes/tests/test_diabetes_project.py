"""The diabetes project on the framework: its jobs run locally, its gate decides by RMSE (lower is
better), batch inference writes numbers, and its endpoint serves only its own model."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from mlops_framework.backends import select_backend
from mlops_framework.context import TaskContext
from mlops_framework.job_graph import load_job_graph
from mlops_framework.runner import run_job
from mlops_framework.serving import champion_app, serve_in_thread
from mlops_framework.steps.approve import GATE_STATUS_TAG
from mlops_framework.vocabulary import CHAMPION

from diabetes_mlops.project import PROJECT, SCRIPTS
from diabetes_support import local_home

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
GRAPH = load_job_graph(PROJECT.package)


def train(schema: str, regularization: float) -> tuple[bool, dict[str, str]]:
    """One training job; whether it succeeded, and the champion's and challenger's versions."""
    report = run_job(
        GRAPH.job("training"), [f"--schema={schema}", f"--regularization={regularization}"], project=PROJECT
    )
    return report.succeeded, aliases(schema)


def context(schema: str) -> TaskContext:
    params = PROJECT.defaults()
    return TaskContext.create(
        "check", params.__class__(**{**vars(params), "schema": schema}), select_backend(), PROJECT
    )


def aliases(schema: str) -> dict[str, str]:
    ctx = context(schema)
    found = {alias: ctx.alias_version(alias) for alias in ("challenger", CHAMPION)}
    return {alias: version.version for alias, version in found.items() if version is not None}


def test_every_task_runs_one_of_this_wheels_own_entry_points() -> None:
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["scripts"]
    assert GRAPH.package_name == PROJECT.package
    for job in GRAPH.jobs.values():
        for task in job.tasks:
            assert task.entry_point.startswith(f"{PROJECT.name}-"), task
            assert (
                scripts[task.entry_point]
                == f"diabetes_mlops.project:SCRIPTS.{PROJECT.task_of(task.entry_point).replace('-', '_')}"
            )
    assert scripts[PROJECT.cli] == "diabetes_mlops.project:SCRIPTS.cli"


def test_the_gate_promotes_a_lower_error_and_never_a_higher_one() -> None:
    """Ridge's alpha 300 scores RMSE ~54.6, 1000 ~59.6 (worse), 30 ~53.0 (better) on the held-out rows."""
    assert train("gate", 300.0) == (True, {"challenger": "1", CHAMPION: "1"})
    succeeded, after_worse = train("gate", 1000.0)
    assert not succeeded  # the approve task fails the job: the challenger's error is higher
    assert after_worse == {"challenger": "2", CHAMPION: "1"}
    ctx = context("gate")
    assert ctx.client.get_model_version(ctx.model_name, "2").tags[GATE_STATUS_TAG] == "failed"
    assert train("gate", 30.0) == (True, {"challenger": "3", CHAMPION: "3"})


@pytest.fixture(scope="module")
def trained(diabetes_home: Path) -> str:
    """The training and batch jobs once with the defaults (schema `diabetes`)."""
    with local_home(diabetes_home):  # module scope: set up before the per-test home
        for job in ("training", "batch_inference"):
            assert run_job(GRAPH.job(job), project=PROJECT).succeeded
    return "diabetes"


def test_batch_inference_writes_a_number_per_patient(trained: str) -> None:
    ctx = context(trained)
    rows = ctx.backend.read_table(ctx.table(PROJECT.tables.predictions))
    assert len(rows) == len(PROJECT.load_frame()) == 442
    assert rows["prediction"].dtype == "float64"
    assert rows["prediction"].between(0, 400).all()
    assert list(rows.columns[:11]) == [PROJECT.key_column, *PROJECT.feature_columns]


def test_its_runs_and_versions_carry_tags_named_after_this_project_only(trained: str) -> None:
    ctx = context(trained)
    runs = ctx.client.search_runs([ctx.experiment_id()])
    version = ctx.alias_version(CHAMPION)
    assert runs
    assert version is not None
    keys = {key for run in runs for key in run.data.tags} | set(
        ctx.client.get_model_version(ctx.model_name, version.version).tags
    )
    assert {run.data.tags["diabetes_mlops_task"] for run in runs} >= {
        "train",
        "evaluate",
        "approve",
        "deploy",
    }
    assert "diabetes_mlops_wheel_version" in keys
    assert not [key for key in keys if "iris" in key], keys


def test_monitoring_sees_no_drift_in_the_data_it_was_trained_on(trained: str) -> None:
    assert run_job(GRAPH.job("monitoring"), project=PROJECT).succeeded
    ctx = context(trained)
    drift = ctx.backend.read_table(ctx.table(PROJECT.tables.drift))
    assert set(drift["feature"]) == {*PROJECT.feature_columns, "prediction"}
    assert set(drift["status"]) == {"ok"}


def test_the_endpoint_serves_numbers_and_refuses_another_projects_request(trained: str) -> None:
    rows: list[dict[str, Any]] = PROJECT.features_of(PROJECT.load_frame().head(4)).to_dict(orient="records")
    iris_row = {"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}
    app = champion_app(PROJECT.defaults(), 0, project=PROJECT)
    with serve_in_thread(app) as url:
        path = f"{url}/serving-endpoints/diabetes-dev/invocations"
        answer = httpx.post(path, json={"dataframe_records": rows})
        refused = httpx.post(path, json={"dataframe_records": [iris_row]})
    assert answer.status_code == 200, answer.text
    assert all(isinstance(value, float) for value in answer.json()["predictions"])
    assert refused.status_code == 400
    assert "bmi" in refused.json()["message"]  # the diabetes signature names what is missing


def test_a_bad_parameter_exits_with_code_2() -> None:
    with pytest.raises(SystemExit) as exited:
        SCRIPTS.evaluate(["--primary_metric=f1_macro"])  # a classification metric: not this project's
    assert exited.value.code == 2
