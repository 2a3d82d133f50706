"""The drift loop in every environment's plan: the monitoring job, its schedule's pause state, the
thresholds it gets, the right of the job principal to start the training job on drift, and the
drift alert that says it did."""

from __future__ import annotations

import json
from typing import Any

import pytest
from harness import SWITCHED

from core.environment import PRODUCTION_LIKE, Environment
from infra.monitoring import drift_retrain_query
from stacks.offline import OfflineRun, fake_id
from stacks.plan import stack_projects

JOB = "databricks:index/job:Job"
PERMISSIONS = "databricks:index/permissions:Permissions"
RULE = "azure-native:monitor:ScheduledQueryRule"
# Per environment, as stacks/defaults.py sets them: the drift alert's severity (2 warning ... 4 verbose).
DRIFT_SEVERITY = {Environment.SANDBOX: 4, Environment.DEV: 4, Environment.UAT: 3, Environment.PROD: 2}
# Per environment, as stacks/defaults.py sets them (psi, p-value, minimum rows).
THRESHOLDS = {
    Environment.SANDBOX: ("0.25", "0.01", "50"),
    Environment.DEV: ("0.25", "0.01", "50"),
    Environment.UAT: ("0.2", "0.01", "100"),
    Environment.PROD: ("0.2", "0.01", "200"),
}


def _job(run: OfflineRun, key: str) -> dict[str, Any]:
    return run.named(f"databricks-iris-jobs-{key}").plain_inputs()


@pytest.mark.parametrize("environment", list(Environment))
def test_every_environment_schedules_the_monitoring_job_paused_outside_uat_and_prod(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    job = _job(plans[environment], "monitoring")
    expected = "UNPAUSED" if environment in PRODUCTION_LIKE else "PAUSED"
    assert job["schedule"]["pauseStatus"] == expected
    # After the batch inference it measures (04:00 UTC) and one task, the wheel's monitor.
    batch = _job(plans[environment], "batch_inference")
    assert job["schedule"]["quartzCronExpression"] > batch["schedule"]["quartzCronExpression"]
    (task,) = job["tasks"]
    assert task["pythonWheelTask"]["entryPoint"] == "iris-monitor"


@pytest.mark.parametrize("environment", list(Environment))
def test_the_monitoring_task_gets_the_environments_thresholds_and_its_training_job(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    run = plans[environment]
    (task,) = _job(run, "monitoring")["tasks"]
    named = task["pythonWheelTask"]["namedParameters"]
    assert (named["drift_psi_threshold"], named["drift_p_value"], named["drift_min_rows"]) == THRESHOLDS[
        environment
    ]
    assert named["training_job_name"] == _job(run, "training")["name"]
    # A drift retrain passes its summary as the training job's job parameter; "{}" by default.
    parameters = {p["name"]: p["default"] for p in _job(run, "training")["parameters"]}
    assert parameters["drift_summary"] == "{}"


@pytest.mark.parametrize("environment", list(Environment))
def test_the_job_principal_may_start_the_training_job(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """run-now needs CAN_MANAGE_RUN on the training job (Databricks job ACLs); the monitoring
    job runs as the job principal, which otherwise had no ACL entry on jobs."""
    run = plans[environment]
    run_as = _job(run, "monitoring")["runAs"]["servicePrincipalName"]
    acl = run.named("databricks-iris-jobs-training-permissions").plain_inputs()["accessControls"]
    assert {"servicePrincipalName": run_as, "permissionLevel": "CAN_MANAGE_RUN"} in acl


def _drift_rule(run: OfflineRun) -> dict[str, Any]:
    return run.named("drift-alert-rule").plain_inputs()


@pytest.mark.parametrize("environment", list(Environment))
def test_every_environment_alerts_through_its_action_group_when_drift_starts_a_retrain(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """Beside the failed-job rule: the same Log Analytics workspace, the same action group, the
    environment's severity from settings, and a name of its own."""
    run = plans[environment]
    rule = _drift_rule(run)
    failed = run.named("platform-monitoring-failed-jobs-alert").plain_inputs()
    assert rule["scopes"] == failed["scopes"]
    assert rule["actions"] == failed["actions"]
    assert rule["severity"] == DRIFT_SEVERITY[environment]
    assert rule["ruleName"].endswith("-drift-retrain")
    assert rule["ruleName"] != failed["ruleName"]
    assert rule["enabled"] is True


@pytest.mark.parametrize("environment", list(Environment))
def test_the_drift_alert_matches_run_now_of_the_training_job_by_the_monitoring_jobs_principal(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """The query names this environment's training job (its id) and the principal the monitoring
    job runs as: a person's run-now of the training job, or another job's, is not a drift alert."""
    run = plans[environment]
    (condition,) = _drift_rule(run)["criteria"]["allOf"]
    query = condition["query"]
    # Every project's training job: each project's monitoring job starts its own.
    training_ids = sorted(
        fake_id(JOB, f"databricks-{name}-jobs-training") for name in stack_projects(environment)
    )
    run_as = _job(run, "monitoring")["runAs"]["servicePrincipalName"]
    assert query == drift_retrain_query(training_ids, run_as)
    assert f"tostring(Params.job_id) in ({', '.join(map(json.dumps, training_ids))})" in query
    assert f'tostring(Caller.email) == "{run_as}"' in query
    assert 'ActionName == "runNow"' in query
    # Any row notifies: a retrain is an event, not a state to resolve.
    assert (condition["operator"], condition["threshold"]) == ("GreaterThan", 0)


@pytest.mark.parametrize(
    ("training_job_id", "principal"),
    [('1" or true or "', "00000000-0000-4000-8000-0000000000db"), ("123", ""), ("123", "a\\b")],
)
def test_the_drift_query_refuses_ids_that_would_leave_their_string_literal(
    training_job_id: str, principal: str
) -> None:
    with pytest.raises(ValueError, match="must be non-empty, without quotes"):
        drift_retrain_query([training_job_id], principal)


def test_the_drift_query_names_every_projects_training_job_and_needs_one() -> None:
    query = drift_retrain_query(["11", "22"], "00000000-0000-4000-8000-0000000000db")
    assert 'tostring(Params.job_id) in ("11", "22")' in query
    with pytest.raises(ValueError, match="training_job_ids ''"):
        drift_retrain_query([], "00000000-0000-4000-8000-0000000000db")


def test_the_drift_alert_can_be_switched_off_in_settings(switched_plan: OfflineRun) -> None:
    """The switched dev stack sets monitoring.driftAlert false (tests/harness.py, SWITCHED)."""
    assert SWITCHED["monitoring"] == {"driftAlert": False}
    names = {r.name for r in switched_plan.of_type(RULE)}
    assert names == {"platform-monitoring-failed-jobs-alert"}


def _minutes(duration: str) -> int:
    """An ISO 8601 duration of whole minutes or hours (PT5M, PT1H)."""
    number, unit = int(duration[2:-1]), duration[-1]
    return number * {"M": 1, "H": 60}[unit]


@pytest.mark.parametrize("environment", list(Environment))
def test_alerts_count_late_rows_once(plans: dict[Environment, OfflineRun], environment: Environment) -> None:
    """Databricks diagnostic rows often land minutes after their TimeGenerated. Each alert looks
    back further than it runs (its window), and counts only what was ingested since its last run:
    with a 5-minute window on TimeGenerated a late row fell between two evaluations, never counted."""
    rules = plans[environment].of_type(RULE)
    assert len(rules) == 2  # failed jobs, drift retrains
    for rule in rules:
        inputs = rule.plain_inputs()
        every = _minutes(inputs["evaluationFrequency"])
        assert _minutes(inputs["windowSize"]) >= 6 * every, rule.name
        (condition,) = inputs["criteria"]["allOf"]
        assert f"| where ingestion_time() > ago({every}m)" in condition["query"].splitlines(), rule.name
