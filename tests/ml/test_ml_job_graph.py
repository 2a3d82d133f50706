"""The job graph contract (docs/contracts.md section 1) as the package ships and loads it."""

from __future__ import annotations

import pytest
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.entrypoints import JOB_PARAMETERS, TASKS, task_entry
from mlops_framework.job_graph import JobGraphError, load_job_graph, parse_job_graph
from mlops_framework.params import PARAMETER_SPECS
from mlops_framework.steps.deploy import SERVING_WAIT

PLATFORM_PARAMETERS = {
    "env",
    "catalog",
    "schema",
    "model_name",
    "primary_metric",
    "margin",
    "require_approval",
    "endpoint_name",
    "experiment_name",
    "drift_psi_threshold",
    "drift_p_value",
    "drift_min_rows",
    "training_job_name",
    "drift_summary",
    "job_run_id",
}
GRAPH = load_job_graph(IRIS.package)


def test_graph_declares_the_package_and_its_jobs() -> None:
    assert GRAPH.package_name == "iris_mlops"
    assert set(GRAPH.jobs) == {"training", "release", "batch_inference", "monitoring"}


def test_release_gates_again_and_deploys_and_is_started_by_hand() -> None:
    """The approval path: an approver tags the challenger, then starts this job (docs/ml.md)."""
    release = GRAPH.job("release")
    assert [task.key for task in release.execution_order()] == ["approve", "deploy"]
    assert release.schedule is None
    training = GRAPH.job("training")
    for key in ("approve", "deploy"):
        same = ("entry_point", "parameters", "max_retries", "timeout_seconds")
        assert [getattr(release.task(key), f) for f in same] == [getattr(training.task(key), f) for f in same]


def test_training_runs_ingest_train_evaluate_approve_deploy_in_order() -> None:
    order = [task.key for task in GRAPH.job("training").execution_order()]
    assert order == ["ingest", "train", "evaluate", "approve", "deploy"]


def test_cli_spelling_of_a_job_finds_the_snake_case_key() -> None:
    assert GRAPH.job("batch-inference") is GRAPH.jobs["batch_inference"]
    with pytest.raises(
        JobGraphError, match="allowed: batch-inference, batch_inference, monitoring, release, training"
    ):
        GRAPH.job("nightly")


@pytest.mark.parametrize("job", list(GRAPH.jobs.values()), ids=list(GRAPH.jobs))
def test_every_job_is_scheduled_in_utc_or_by_hand_and_bounded(job) -> None:  # type: ignore[no-untyped-def]
    if job.schedule is not None:
        assert job.schedule.quartz_cron.count(" ") >= 5
        assert job.schedule.timezone == "UTC"
    assert job.timeout_seconds > 0
    assert job.max_concurrent_runs == 1
    assert all(0 < task.timeout_seconds <= job.timeout_seconds for task in job.tasks)


@pytest.mark.parametrize("job", list(GRAPH.jobs.values()), ids=list(GRAPH.jobs))
def test_every_task_of_a_job_accepts_the_jobs_parameters(job) -> None:  # type: ignore[no-untyped-def]
    """Databricks pushes job parameters down to every task of the job (job_graph.toml, top): a task
    that rejected one would fail every run started with an override."""
    assert set(job.parameters) <= set(JOB_PARAMETERS)
    for task in job.tasks:
        assert set(job.parameters) <= set(task_entry(task.entry_point, IRIS).accepted), task.key
        assert not set(job.parameters) & set(task.parameters), task.key  # the job's value would win


def test_deploy_waits_within_its_task_timeout() -> None:
    for job in GRAPH.jobs.values():
        for task in job.tasks:
            if task.entry_point == "iris-deploy":
                assert SERVING_WAIT.total_seconds() + 600 <= task.timeout_seconds, job.key


def test_the_person_overridable_parameters_cannot_switch_the_gate_off() -> None:
    assert not {"require_approval", "gate_mode", "env", "catalog", "schema"} & set(JOB_PARAMETERS)


def test_every_task_names_a_known_entry_point_that_accepts_its_parameters() -> None:
    for job in GRAPH.jobs.values():
        for task in job.tasks:
            assert task.entry_point in {f"iris-{name}" for name in TASKS}, task
            assert set(task.parameters) <= set(task_entry(task.entry_point, IRIS).accepted), task
            assert set(task.parameters) <= PLATFORM_PARAMETERS, task
            assert "env" in task.parameters


def test_every_task_that_logs_an_mlflow_run_takes_the_platforms_experiment() -> None:
    """Pulumi creates the experiment for the job principal; a run anywhere else would fail or
    land in an experiment the principal does not own. Ingest logs no run."""
    tracked = {"train", "evaluate", "approve", "deploy", "batch-inference", "monitor"}
    for job in GRAPH.jobs.values():
        for task in job.tasks:
            assert ("experiment_name" in task.parameters) is (task.key in tracked), task.key


def test_every_deploy_follows_an_approve_of_its_own_job_run() -> None:
    """Deploy finds approve's verdict by the job run both are given (decisions.py): a deploy
    without it, or without an approve upstream, would act on whatever the aliases say by then."""
    for job in GRAPH.jobs.values():
        for task in job.tasks:
            if task.entry_point == "iris-deploy":
                assert task.depends_on == ("approve",), job.key
                assert "job_run_id" in task.parameters, job.key
                assert "job_run_id" in job.task("approve").parameters, job.key


def test_the_gate_is_never_retried() -> None:
    for job in ("training", "release"):
        assert GRAPH.job(job).task("approve").max_retries == 0


BASE = """
schema_version = 1
package_name = "iris_mlops"
[jobs.training]
description = "d"
schedule = { quartz_cron = "0 0 3 ? * MON", timezone = "UTC" }
max_concurrent_runs = 1
timeout_seconds = 60
"""


def task(key: str, depends_on: str = "", parameters: str = '"env"') -> str:
    deps = f'"{depends_on}"' if depends_on else ""
    return (
        f'[[jobs.training.tasks]]\nkey = "{key}"\nentry_point = "iris-ingest"\n'
        f"parameters = [{parameters}]\ndepends_on = [{deps}]\ntimeout_seconds = 10\n"
    )


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        (task("a", "b") + task("b", "a"), "dependency cycle"),
        (task("a") + task("a"), "duplicate task keys"),
        (task("a", "missing"), "depends on unknown tasks"),
        (task("a", parameters='"color"'), "unknown parameters"),
    ],
)
def test_broken_graphs_are_rejected_with_the_reason(tasks: str, message: str) -> None:
    with pytest.raises(JobGraphError, match=message):
        parse_job_graph(BASE + tasks, known_parameters=PARAMETER_SPECS)


def test_unsupported_schema_version_is_rejected() -> None:
    with pytest.raises(JobGraphError, match="schema_version 2"):
        parse_job_graph(BASE.replace("schema_version = 1", "schema_version = 2") + task("a"))


def _graph_with_timeouts(job_timeout: int, retries: int = 1) -> str:
    return (
        'schema_version = 1\npackage_name = "iris_mlops"\n[jobs.training]\ndescription = "d"\n'
        'schedule = { quartz_cron = "0 0 3 ? * MON", timezone = "UTC" }\nmax_concurrent_runs = 1\n'
        f"timeout_seconds = {job_timeout}\n"
        '[[jobs.training.tasks]]\nkey = "ingest"\nentry_point = "iris-ingest"\nparameters = ["env"]\n'
        f"depends_on = []\nmax_retries = {retries}\ntimeout_seconds = 900\n"
        '[[jobs.training.tasks]]\nkey = "deploy"\nentry_point = "iris-deploy"\nparameters = ["env"]\n'
        'depends_on = ["ingest"]\nmax_retries = 0\ntimeout_seconds = 3600\n'
    )


def test_a_job_timeout_shorter_than_its_task_chain_is_refused() -> None:
    """Defect: training timed out at 3600 s while its deploy task alone may take 3600 s."""
    with pytest.raises(JobGraphError, match=r"ingest -> deploy may finish \(5400 s"):
        parse_job_graph(_graph_with_timeouts(3600))
    assert parse_job_graph(_graph_with_timeouts(5400)).jobs["training"].longest_chain() == (
        5400,
        ("ingest", "deploy"),
    )


def test_the_shipped_jobs_outlast_their_longest_chains() -> None:
    for job in GRAPH.jobs.values():
        seconds, _ = job.longest_chain()
        assert job.timeout_seconds >= seconds, job.key
