"""The drift loop in every environment's plan: the monitoring job, its schedule's pause state, the
thresholds it gets, and the right of the job principal to start the training job on drift."""

from __future__ import annotations

from typing import Any

import pytest

from core.environment import Environment
from stacks.offline import OfflineRun

JOB = "databricks:index/job:Job"
PERMISSIONS = "databricks:index/permissions:Permissions"
# Per environment, as stacks/defaults.py sets them (psi, p-value, minimum rows).
THRESHOLDS = {
    Environment.SANDBOX: ("0.25", "0.01", "50"),
    Environment.DEV: ("0.25", "0.01", "50"),
    Environment.UAT: ("0.2", "0.01", "100"),
    Environment.PROD: ("0.2", "0.01", "200"),
}


def _job(run: OfflineRun, key: str) -> dict[str, Any]:
    return run.named(f"databricks-jobs-{key}").plain_inputs()


@pytest.mark.parametrize("environment", list(Environment))
def test_every_environment_schedules_the_monitoring_job_paused_outside_uat_and_prod(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    job = _job(plans[environment], "monitoring")
    expected = "UNPAUSED" if environment.is_production_like else "PAUSED"
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
    acl = run.named("databricks-jobs-training-permissions").plain_inputs()["accessControls"]
    assert {"servicePrincipalName": run_as, "permissionLevel": "CAN_MANAGE_RUN"} in acl
