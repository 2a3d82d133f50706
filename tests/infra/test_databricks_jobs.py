"""Jobs are the wheel's job graph, translated per environment, and valid Jobs API 2.1 settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk.service.jobs import JobSettings
from harness import StackPlans, built_wheel, committed_settings, copied_dist, rewrite_wheel
from mlops_framework.vocabulary import TRAINING_JOB

from core.environment import PRODUCTION_LIKE, Environment
from infra.jobs import SERVERLESS_ENVIRONMENT_VERSION, UnknownJobParameterError
from infra.wheel import JobGraph, WheelContents
from stacks import wiring
from stacks.offline import FAKE_OUTPUTS, OfflineRun
from stacks.projects import ProjectSettings

JOB = "databricks:index/job:Job"
SP_TYPE = "databricks:index/servicePrincipal:ServicePrincipal"
GRAPH_MEMBER = "iris_mlops/job_graph.toml"
# Pulumi pluralises repeated blocks (Terraform `depends_on {}` -> `dependsOns`); the API does not.
PULUMI_PLURALS = {
    "dependsOns": "depends_on",
    "onFailures": "on_failure",
    "onStarts": "on_start",
    "onSuccesses": "on_success",
    "onDurationWarningThresholdExceededs": "on_duration_warning_threshold_exceeded",
    "onStreamingBacklogExceededs": "on_streaming_backlog_exceeded",
}
# Maps whose keys are user data, not field names: never re-cased.
FREE_FORM_MAPS = {"tags", "namedParameters", "sparkConf", "sparkEnvVars", "customTags"}


def to_api(value: Any) -> Any:
    """Engine inputs (camelCase, numbers as floats) -> Jobs API 2.1 JSON (snake_case, ints)."""
    if isinstance(value, dict):
        return {
            _api_name(key): dict(item) if key in FREE_FORM_MAPS else to_api(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [to_api(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _api_name(key: str) -> str:
    return PULUMI_PLURALS.get(key) or re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def jobs_of(run: OfflineRun, project: str = "iris") -> dict[str, dict[str, Any]]:
    """One project's jobs by key (Iris unless named)."""
    return {
        job.plain_inputs()["tags"]["job"]: job.plain_inputs()
        for job in run.of_type(JOB)
        if job.plain_inputs()["tags"]["ml-project"] == project
    }


def wheel_of(project: ProjectSettings) -> WheelContents:
    """The project's wheel as `make wheel` built it (the plans' dist/)."""
    return built_wheel(wiring.project_dist(project))


def projects(environment: Environment) -> tuple[ProjectSettings, ...]:
    return committed_settings(environment).projects


def test_every_job_of_the_graph_exists_in_every_environment(plans: dict[Environment, OfflineRun]) -> None:
    for env, run in plans.items():
        for project in projects(env):
            graph = wheel_of(project).graph
            jobs = jobs_of(run, project.name)
            assert set(jobs) == set(graph.jobs), (env, project.name)
            assert {job["name"] for job in jobs.values()} == {
                f"mlops-{env.value}-{project.name}-{key.replace('_', '-')}" for key in graph.jobs
            }
            assert set(run.exports["projects"][project.name]["jobIds"]) == set(graph.jobs)


def test_tasks_are_sorted_by_task_key_with_sorted_dependencies(plans: dict[Environment, OfflineRun]) -> None:
    jobs = plans[Environment.DEV].of_type(JOB)
    assert jobs
    for job in jobs:
        keys = [task["taskKey"] for task in job.plain_inputs()["tasks"]]
        assert keys == sorted(keys), job.name
        for task in job.plain_inputs()["tasks"]:
            upstream = [d["taskKey"] for d in task.get("dependsOns", [])]
            assert upstream == sorted(upstream), (job.name, task["taskKey"])


def test_tasks_call_the_wheels_entry_points_with_named_parameters_from_args(
    plans: dict[Environment, OfflineRun], plan_with: StackPlans
) -> None:
    for run in plans.values():
        args = plan_with.workloads_args(run)
        for project in args.projects:
            graph = built_wheel(project.wheel_path).graph
            values = args.parameter_values(project)
            for job_key, job in jobs_of(run, project.name).items():
                declared = {task.key: task for task in graph.jobs[job_key].tasks}
                for task in job["tasks"]:
                    wheel_task = task["pythonWheelTask"]
                    spec = declared[task["taskKey"]]
                    assert wheel_task["packageName"] == graph.package_name
                    assert wheel_task["entryPoint"] == spec.entry_point
                    assert wheel_task["namedParameters"] == {name: values[name] for name in spec.parameters}
                    assert (task["maxRetries"], task["timeoutSeconds"]) == (
                        spec.max_retries,
                        spec.timeout_seconds,
                    )


def test_parameters_carry_the_environment_and_its_approval_rule(plans: dict[Environment, OfflineRun]) -> None:
    """uat and prod wait for a human approval of a new champion; sandbox and dev do not."""
    for env, run in plans.items():
        settings = committed_settings(env)
        assert settings.model.require_approval is (env in PRODUCTION_LIKE)
        approvals = set()
        for job in run.of_type(JOB):
            for task in job.plain_inputs()["tasks"]:
                parameters = task["pythonWheelTask"]["namedParameters"]
                assert parameters.get("env", env.value) == env.value
                assert parameters.get("catalog", settings.databricks.catalog) == settings.databricks.catalog
                approvals.add(parameters.get("require_approval"))
        assert approvals - {None} == {"true" if env in PRODUCTION_LIKE else "false"}, env


def test_schedules_are_the_graphs(plans: dict[Environment, OfflineRun]) -> None:
    """Paused or not is tests/stacks/test_wiring.py's (test_job_schedules_run_only_in_uat_and_prod)."""
    for project in projects(Environment.PROD):
        graph: JobGraph = wheel_of(project).graph
        for job_key, job in jobs_of(plans[Environment.PROD], project.name).items():
            schedule = graph.jobs[job_key].schedule
            if schedule is None:
                assert "schedule" not in job, job["name"]
                continue
            planned = job["schedule"]
            assert (planned["quartzCronExpression"], planned["timezoneId"]) == (
                schedule.quartz_cron,
                schedule.timezone,
            )


def test_schedules_enabled_setting_overrides_the_environment_default(switched_plan: OfflineRun) -> None:
    scheduled = [job.plain_inputs() for job in switched_plan.of_type(JOB) if "schedule" in job.inputs]
    assert scheduled
    assert {job["schedule"]["pauseStatus"] for job in scheduled} == {"UNPAUSED"}


def test_serverless_by_default_installs_the_wheel_and_exactly_its_locked_versions(
    plans: dict[Environment, OfflineRun],
) -> None:
    """Not the wheel's ranges, which pip would resolve anew on each environment build."""
    for env, run in plans.items():
        settings = committed_settings(env)
        assert settings.databricks.compute_mode == "serverless"
        for project in settings.projects:
            volume = f"/Volumes/{settings.databricks.catalog}/{project.schema_}/artifacts/wheels/"
            locked = wheel_of(project).pinned_requirements
            assert "mlflow-skinny==3.17.2" in locked
            assert {"numpy==2.1.3", "pandas==2.2.3", "scikit-learn==1.6.1"} <= set(locked)  # environment 4's
            assert not {
                pin for pin in locked if pin.startswith(("mlflow==", "deltalake=="))
            }  # no server, no local extra
            for job in jobs_of(run, project.name).values():
                (environment,) = job["environments"]
                assert environment["spec"]["environmentVersion"] == SERVERLESS_ENVIRONMENT_VERSION
                *pins, wheel = environment["spec"]["dependencies"]
                assert tuple(pins) == locked
                assert wheel.startswith(volume)
                assert "jobClusters" not in job
                assert {t["environmentKey"] for t in job["tasks"]} == {environment["environmentKey"]}
                assert all("libraries" not in t for t in job["tasks"])


def test_job_clusters_when_asked_install_the_wheel_as_a_task_library(switched_plan: OfflineRun) -> None:
    settings = committed_settings(Environment.DEV)
    for project in settings.projects:
        jobs = jobs_of(switched_plan, project.name)
        assert jobs
        for job in jobs.values():
            (cluster,) = job["jobClusters"]
            assert cluster["newCluster"]["sparkVersion"] == settings.databricks.spark_version
            assert cluster["newCluster"]["nodeTypeId"] == settings.databricks.node_type
            assert cluster["newCluster"]["dataSecurityMode"] == "SINGLE_USER"
            assert "environments" not in job
            for task in job["tasks"]:
                assert task["jobClusterKey"] == cluster["jobClusterKey"]
                (library,) = task["libraries"]
                assert library["whl"].endswith(wheel_of(project).path.name)


def test_jobs_run_as_the_workload_service_principal(plans: dict[Environment, OfflineRun]) -> None:
    application_id = FAKE_OUTPUTS[SP_TYPE]("sp", {})["applicationId"]
    for run in plans.values():
        # One Databricks-managed principal, the jobs'; the deployer and the PR-preview identity
        # are registered with their Azure application ids.
        managed = [sp for sp in run.of_type(SP_TYPE) if "applicationId" not in sp.inputs]
        assert len(managed) == 1
        for job in run.of_type(JOB):
            assert job.plain_inputs()["runAs"] == {"servicePrincipalName": application_id}


def test_failures_are_mailed_to_sorted_unique_addresses(switched_plan: OfflineRun) -> None:
    """The switched stack lists ml-oncall twice and before ml-dev. (Every stack must list at least
    one address: tests/stacks/settings_cases.py.)"""
    for job in switched_plan.of_type(JOB):
        failures = job.plain_inputs()["emailNotifications"]["onFailures"]
        assert failures == ["ml-dev@example.com", "ml-oncall@example.com"], job.name


def test_concurrency_timeouts_and_tags_come_from_the_graph_and_the_stack(
    plans: dict[Environment, OfflineRun],
) -> None:
    run = plans[Environment.DEV]
    # The tags every Azure resource of the stack carries (infra/tags.py), plus the job's own.
    (group,) = run.of_type("azure-native:resources:ResourceGroup")
    for project in projects(Environment.DEV):
        graph = wheel_of(project).graph
        for job_key, job in jobs_of(run, project.name).items():
            spec = graph.jobs[job_key]
            assert (job["maxConcurrentRuns"], job["timeoutSeconds"]) == (
                spec.max_concurrent_runs,
                spec.timeout_seconds,
            )
            assert job["queue"] == {"enabled": True}
            assert job["tags"] == {**group.plain_inputs()["tags"], "job": job_key, "ml-project": project.name}


def test_jobs_update_only_after_the_wheel_is_uploaded(plans: dict[Environment, OfflineRun]) -> None:
    run = plans[Environment.DEV]
    for project in projects(Environment.DEV):
        (upload,) = [
            f
            for f in run.of_type("databricks:index/file:File")
            if f.name.startswith(f"databricks-{project.name}-")
        ]
        jobs = [job for job in run.of_type(JOB) if job.name.startswith(f"databricks-{project.name}-")]
        assert jobs
        for job in jobs:
            assert upload.urn in job.dependencies


@pytest.mark.parametrize("env", [*Environment, "switched"], ids=str)
def test_every_job_spec_round_trips_through_the_sdk_job_settings(
    plans: dict[Environment, OfflineRun], switched_plan: OfflineRun, env: Environment | str
) -> None:
    """The four stacks (serverless) and the switched one (job clusters)."""
    run = switched_plan if env == "switched" else plans[Environment(env)]
    for job in run.of_type(JOB):
        spec = to_api(job.plain_inputs())
        assert JobSettings.from_dict(spec).as_dict() == spec


def test_round_trip_catches_a_field_the_jobs_api_does_not_know() -> None:
    spec = {"name": "x", "tasks": [{"task_key": "a", "depends_ons": [{"task_key": "b"}]}]}
    assert JobSettings.from_dict(spec).as_dict() != spec


def test_unknown_parameter_in_the_graph_fails_before_any_resource(
    plan_with: StackPlans, registrations: list[str], tmp_path: Path
) -> None:
    """Checked with the wheels, before the foundation: a `pulumi up` would otherwise create the
    resource group and everything in it, then stop."""
    dist = copied_dist(tmp_path)

    def unknown_parameter(members: dict[str, bytes]) -> None:
        graph = members[GRAPH_MEMBER].decode()
        bad = graph.replace('parameters = ["env", "catalog", "schema"]', 'parameters = ["env", "region"]', 1)
        assert bad != graph
        members[GRAPH_MEMBER] = bad.encode()

    rewrite_wheel(dist, "iris", unknown_parameter)
    with pytest.raises(UnknownJobParameterError, match=r"training\.ingest: region"):
        plan_with(Environment.DEV, dist=dist)
    assert registrations == [], "resources registered before the error"


def test_the_job_principal_may_start_the_training_job_and_no_other(
    plans: dict[Environment, OfflineRun],
) -> None:
    """Issue 29, finding 10: the monitoring job starts the training job on drift (mlops_framework.retrain);
    running as each job's run_as needs no ACL, so CAN_MANAGE_RUN anywhere else is reach it never uses."""
    principal = FAKE_OUTPUTS[SP_TYPE]("sp", {})["applicationId"]
    for env, run in plans.items():
        permissions = [
            p
            for p in run.of_type("databricks:index/permissions:Permissions")
            if p.plain_inputs().get("jobId")
        ]
        startable = {
            p.name.removesuffix("-permissions")
            for p in permissions
            for entry in p.plain_inputs()["accessControls"]
            if entry.get("servicePrincipalName") == principal
        }
        assert startable, env
        assert all(name.endswith(f"-{TRAINING_JOB}") for name in startable), (env, startable)
        for p in permissions:
            for entry in p.plain_inputs()["accessControls"]:
                if entry.get("servicePrincipalName") == principal:
                    assert entry["permissionLevel"] == "CAN_MANAGE_RUN"
