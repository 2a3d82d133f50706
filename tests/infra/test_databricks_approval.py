"""The approval path and the run-time overrides, as the four real stacks plan them with the real
wheel: who may tag the challenger approved, who may start the release job, and which parameters a
person may override when starting a run (docs/ml.md, approval; docs/databricks.md, jobs)."""

from __future__ import annotations

from typing import Any

from harness import committed_settings

from core.environment import PRODUCTION_LIKE, Environment
from infra.jobs import APPROVERS_JOB_PERMISSION
from stacks.offline import OfflineRun, RecordedResource

JOB = "databricks:index/job:Job"
PERMISSIONS = "databricks:index/permissions:Permissions"
GRANTS = "databricks:index/grants:Grants"
APPROVERS = "mlops-approvers"
READ_AND_TAG = {"APPLY_TAG", "EXECUTE", "USE_SCHEMA", "USE_CATALOG"}


def jobs(run: OfflineRun) -> dict[str, dict[str, Any]]:
    """Iris's jobs by key (every project's jobs follow the same rules; Iris stands for them)."""
    return {
        job.plain_inputs()["tags"]["job"]: job.plain_inputs()
        for job in run.of_type(JOB)
        if job.plain_inputs()["tags"]["ml-project"] == "iris"
    }


def job_acl(run: OfflineRun, job_key: str) -> dict[str, str]:
    (permissions,) = [
        p for p in run.of_type(PERMISSIONS) if p.name == f"databricks-iris-jobs-{job_key}-permissions"
    ]
    return acl(permissions)


def acl(resource: RecordedResource) -> dict[str, str]:
    controls = resource.plain_inputs()["accessControls"]
    return {c.get("groupName") or c["servicePrincipalName"]: c["permissionLevel"] for c in controls}


def grants(run: OfflineRun, securable: str) -> dict[str, list[str]]:
    # The catalog's, or Iris's schema or model (each project has its own).
    (resource,) = [
        g
        for g in run.of_type(GRANTS)
        if securable in g.inputs and (securable == "catalog" or "-iris-" in g.name)
    ]
    return {g["principal"]: g["privileges"] for g in resource.plain_inputs()["grants"]}


def test_approvers_can_tag_the_model_and_start_the_release_job_where_approval_is_required(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        if env in PRODUCTION_LIKE:
            # APPLY TAG with USE SCHEMA and USE CATALOG on the parents; EXECUTE to read the version.
            assert grants(run, "model")[APPROVERS] == ["APPLY_TAG", "EXECUTE"], env
            assert grants(run, "schema")[APPROVERS] == ["USE_SCHEMA"], env
            assert grants(run, "catalog")[APPROVERS] == ["USE_CATALOG"], env
            assert job_acl(run, "release")[APPROVERS] == APPROVERS_JOB_PERMISSION, env
        else:
            for securable in ("model", "schema", "catalog"):
                assert APPROVERS not in grants(run, securable), (env, securable)
            assert APPROVERS not in job_acl(run, "release"), env
        # Only the step that follows the approval: never the training or the batch job.
        for job_key in ("training", "batch_inference"):
            assert APPROVERS not in job_acl(run, job_key), (env, job_key)


def test_no_approver_may_write_data_or_run_compute_beyond_the_release_job(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        for resource in run.of_type(GRANTS):
            for grant in resource.plain_inputs()["grants"]:
                if grant["principal"] == APPROVERS:
                    assert set(grant["privileges"]) <= READ_AND_TAG, env


def test_what_a_person_may_override_is_a_job_parameter_every_task_receives(
    plans: dict[Environment, OfflineRun],
) -> None:
    """Databricks pushes job parameters down to every python_wheel_task and lets them win over a
    task parameter of the same name: a job parameter is never also a task's named parameter."""
    for env, run in plans.items():
        planned = jobs(run)
        (iris,) = [p for p in committed_settings(env).projects if p.name == "iris"]
        margin = str(iris.margin)
        # A drift alert starts the training job with its summary (mlops_framework.retrain); "{}" otherwise.
        # A run-now may rescore every row with the current champion (steps/batch_inference.py).
        expected = {
            "training": {"margin": margin, "drift_summary": "{}"},
            "release": {"margin": margin},
            "batch_inference": {"rescore": "changed"},
        }
        for job_key, wanted in expected.items():
            parameters = {p["name"]: p["default"] for p in planned[job_key]["parameters"]}
            assert parameters == wanted, (env, job_key)
            for task in planned[job_key]["tasks"]:
                named = task["pythonWheelTask"]["namedParameters"]
                assert not set(parameters) & set(named), (env, task["taskKey"])


def test_the_release_job_has_no_schedule_and_runs_approve_then_deploy(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        release = jobs(run)["release"]
        assert release.get("schedule") is None, env
        tasks = {task["taskKey"]: task for task in release["tasks"]}
        assert set(tasks) == {"approve", "deploy"}, env
        assert [d["taskKey"] for d in tasks["deploy"]["dependsOns"]] == ["approve"], env
