"""Jobs are the wheel's job graph, translated per environment, and valid Jobs API 2.1 settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk.service.jobs import JobSettings
from databricks_fixtures.program import plan, workloads_args
from databricks_fixtures.wheels import JOB_GRAPH, build_wheel

from core.environment import PRODUCTION_LIKE, Environment
from infra.databricks import DatabricksWorkloads
from infra.jobs import DEFAULT_SPARK_VERSION, SERVERLESS_ENVIRONMENT_VERSION, UnknownJobParameterError
from infra.wheel import read_wheel
from stacks.offline import FAKE_OUTPUTS, OfflineRun, run_offline

JOB = "databricks:index/job:Job"
SP_TYPE = "databricks:index/servicePrincipal:ServicePrincipal"

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


def jobs_of(run: OfflineRun) -> dict[str, dict[str, Any]]:
    return {job.plain_inputs()["tags"]["job"]: job.plain_inputs() for job in run.of_type(JOB)}


def test_every_job_of_the_graph_exists_in_every_environment(runs: dict[Environment, OfflineRun]) -> None:
    for env, run in runs.items():
        assert set(jobs_of(run)) == {"training", "batch_inference"}, env
        assert {j["name"] for j in jobs_of(run).values()} == {
            f"mlops-{env.value}-iris-training",
            f"mlops-{env.value}-iris-batch-inference",
        }


def test_tasks_are_sorted_by_task_key_with_sorted_dependencies(runs: dict[Environment, OfflineRun]) -> None:
    training = jobs_of(runs[Environment.DEV])["training"]
    keys = [task["taskKey"] for task in training["tasks"]]
    assert keys == sorted(keys) == ["approve", "deploy", "evaluate", "ingest", "train"]
    for task in training["tasks"]:
        upstream = [d["taskKey"] for d in task.get("dependsOns", [])]
        assert upstream == sorted(upstream)


def test_tasks_call_the_wheels_entry_points_with_named_parameters_from_args(
    runs: dict[Environment, OfflineRun], wheel_path: Path
) -> None:
    graph = read_wheel(wheel_path).graph
    for env, run in runs.items():
        args = workloads_args(env, wheel_path)
        values = args.parameter_values(args.projects[0])
        for job_key, job in jobs_of(run).items():
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


def test_parameters_carry_the_environment_and_its_approval_rule(runs: dict[Environment, OfflineRun]) -> None:
    for env, run in runs.items():
        approve = next(t for t in jobs_of(run)["training"]["tasks"] if t["taskKey"] == "approve")
        parameters = approve["pythonWheelTask"]["namedParameters"]
        assert parameters["env"] == env.value
        assert parameters["catalog"] == f"mlops_{env.value}"
        assert parameters["require_approval"] == ("true" if env in PRODUCTION_LIKE else "false")


def test_schedules_are_paused_in_sandbox_and_dev_and_run_in_uat_and_prod(
    runs: dict[Environment, OfflineRun],
) -> None:
    for env, run in runs.items():
        for job in jobs_of(run).values():
            expected = "UNPAUSED" if env in PRODUCTION_LIKE else "PAUSED"
            assert job["schedule"]["pauseStatus"] == expected, (env, job["name"])
    training = jobs_of(runs[Environment.PROD])["training"]["schedule"]
    assert (training["quartzCronExpression"], training["timezoneId"]) == ("0 0 3 ? * MON", "UTC")


def test_schedules_paused_setting_overrides_the_environment_default(wheel_path: Path) -> None:
    run = plan(Environment.DEV, wheel_path, schedules_paused=False)
    assert {job["schedule"]["pauseStatus"] for job in jobs_of(run).values()} == {"UNPAUSED"}


def test_serverless_by_default_installs_the_wheel_at_the_pinned_environment_version(
    runs: dict[Environment, OfflineRun],
) -> None:
    for env in (Environment.SANDBOX, Environment.DEV, Environment.UAT):
        for job in jobs_of(runs[env]).values():
            (environment,) = job["environments"]
            assert environment["spec"]["environmentVersion"] == SERVERLESS_ENVIRONMENT_VERSION
            (wheel,) = environment["spec"]["dependencies"]
            assert wheel.startswith(f"/Volumes/mlops_{env.value}/iris/artifacts/wheels/")
            assert "jobClusters" not in job
            assert {t["environmentKey"] for t in job["tasks"]} == {environment["environmentKey"]}
            assert all("libraries" not in t for t in job["tasks"])


def test_job_clusters_when_asked_install_the_wheel_as_a_task_library(
    runs: dict[Environment, OfflineRun],
) -> None:
    for job in jobs_of(runs[Environment.PROD]).values():
        (cluster,) = job["jobClusters"]
        assert cluster["newCluster"]["sparkVersion"] == DEFAULT_SPARK_VERSION
        assert cluster["newCluster"]["dataSecurityMode"] == "SINGLE_USER"
        assert "environments" not in job
        for task in job["tasks"]:
            assert task["jobClusterKey"] == cluster["jobClusterKey"]
            (library,) = task["libraries"]
            assert library["whl"].endswith("iris_mlops-0.1.0-py3-none-any.whl")


def test_jobs_run_as_the_workload_service_principal(runs: dict[Environment, OfflineRun]) -> None:
    application_id = FAKE_OUTPUTS[SP_TYPE]("sp", {})["applicationId"]
    for run in runs.values():
        # Two principals: the job principal (Databricks-managed) and the registered deployer.
        managed = [sp for sp in run.of_type(SP_TYPE) if "applicationId" not in sp.inputs]
        assert len(managed) == 1
        for job in jobs_of(run).values():
            assert job["runAs"] == {"servicePrincipalName": application_id}


def test_failures_are_mailed_to_sorted_unique_addresses_and_only_if_any(
    runs: dict[Environment, OfflineRun],
) -> None:
    uat = jobs_of(runs[Environment.UAT])["training"]["emailNotifications"]["onFailures"]
    assert uat == ["ml-dev@example.com", "ml-oncall@example.com"]
    assert all("emailNotifications" not in job for job in jobs_of(runs[Environment.SANDBOX]).values())


def test_concurrency_timeouts_and_tags_come_from_the_graph_and_args(
    runs: dict[Environment, OfflineRun],
) -> None:
    job = jobs_of(runs[Environment.DEV])["training"]
    assert (job["maxConcurrentRuns"], job["timeoutSeconds"]) == (1, 10500)
    assert job["queue"] == {"enabled": True}
    assert job["tags"] == {
        "environment": "dev",
        "job": "training",
        "ml-project": "iris",
        "owner": "platform-team",
        "project": "mlops-platform",
    }


def test_jobs_update_only_after_the_wheel_is_uploaded(runs: dict[Environment, OfflineRun]) -> None:
    run = runs[Environment.DEV]
    (upload,) = run.of_type("databricks:index/file:File")
    for job in run.of_type(JOB):
        assert upload.urn in job.dependencies


@pytest.mark.parametrize("env", list(Environment), ids=str)
def test_every_job_spec_round_trips_through_the_sdk_job_settings(
    runs: dict[Environment, OfflineRun], env: Environment
) -> None:
    for job in runs[env].of_type(JOB):
        spec = to_api(job.plain_inputs())
        assert JobSettings.from_dict(spec).as_dict() == spec


def test_round_trip_catches_a_field_the_jobs_api_does_not_know() -> None:
    spec = {"name": "x", "tasks": [{"task_key": "a", "depends_ons": [{"task_key": "b"}]}]}
    assert JobSettings.from_dict(spec).as_dict() != spec


def test_planning_twice_gives_identical_inputs(runs: dict[Environment, OfflineRun], wheel_path: Path) -> None:
    again = plan(Environment.UAT, wheel_path)
    first = {r.urn: r.plain_inputs() for r in runs[Environment.UAT].resources}
    assert {r.urn: r.plain_inputs() for r in again.resources} == first


def test_unknown_parameter_in_the_graph_fails_before_any_resource(tmp_path: Path) -> None:
    graph = JOB_GRAPH.replace('parameters = ["env", "catalog", "schema"]', 'parameters = ["env", "region"]')
    with pytest.raises(UnknownJobParameterError, match=r"training\.ingest: region"):
        workloads_run_registering_nothing(build_wheel(tmp_path, graph=graph))


def workloads_run_registering_nothing(wheel: Path) -> None:
    """Run the program; if it raises, assert nothing was registered before re-raising."""
    errors: list[Exception] = []

    def program() -> None:
        try:
            DatabricksWorkloads("databricks", workloads_args(Environment.DEV, wheel))
        except ValueError as error:
            errors.append(error)

    run = run_offline(program, project="mlops-platform", stack="dev", config={})
    assert run.resources == [], "resources registered before the error"
    if errors:
        raise errors[0]
