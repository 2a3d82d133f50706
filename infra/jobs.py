"""Databricks jobs translated, not rewritten, from the job graph inside the wheel.

Each task is a ``python_wheel_task`` calling the wheel's own entry point with named parameters
filled per environment. Everything that a plan shows is sorted (jobs, tasks by ``task_key``,
dependencies, e-mails) so that planning twice gives identical inputs (docs/traps.md: perpetual-diff).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum

import pulumi
import pulumi_databricks as databricks
from mlops_framework.job_graph import Job, JobGraph, Task
from mlops_framework.vocabulary import DECISION_DEFAULTS, TRAINING_JOB
from pydantic import BaseModel, ConfigDict, Field

from core.environment import Environment
from infra.access import Role
from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.naming import DatabricksNames
from infra.workload_identity import access_controls

# The only place the runtimes are pinned (docs/traps.md: runtime-pins). Serverless environment 4 =
# Python 3.12 (supported to 2028-08); job clusters use the 16.4 LTS runtime unless the settings name another.
SERVERLESS_ENVIRONMENT_VERSION = "4"
DEFAULT_SPARK_VERSION = "16.4.x-scala2.12"
DEFAULT_NODE_TYPE = "Standard_D4ds_v5"

APPROVERS_JOB_PERMISSION = "CAN_MANAGE_RUN"
ENVIRONMENT_KEY = "wheel"  # serverless: the job environment that installs the wheel
JOB_CLUSTER_KEY = "main"  # job clusters: the one cluster every task shares


class ComputeMode(StrEnum):
    SERVERLESS = "serverless"
    JOB_CLUSTER = "job_cluster"


class UnknownJobParameterError(ValueError):
    """The job graph asks for a parameter the platform has no value for."""


class JobCluster(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    spark_version: str = Field(default=DEFAULT_SPARK_VERSION, min_length=1)
    node_type: str = Field(default=DEFAULT_NODE_TYPE, min_length=1)
    num_workers: int = Field(default=1, ge=0)


class DriftThresholds(BaseModel):
    """The monitoring task's drift parameters (mlops_framework.drift): a feature drifts when its PSI
    reaches `psi` and its two-sample test's p-value is below `p_value`; a window with fewer than
    `min_rows` rows is "not enough data"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    psi: float = Field(default=DECISION_DEFAULTS.drift_psi_threshold, gt=0.0, le=10.0)
    p_value: float = Field(default=DECISION_DEFAULTS.drift_p_value, gt=0.0, lt=1.0)
    min_rows: int = Field(default=DECISION_DEFAULTS.drift_min_rows, ge=1, le=10_000_000)


def check_parameters(graph: JobGraph, known: Collection[str]) -> None:
    """All parameter names the graph asks for and ``known`` lacks, at once, before anything is
    registered (``known``: the names the platform fills, or their values by name)."""
    unknown = sorted(
        f"{job_key}{'.' + task.key if task else ''}: {parameter}"
        for job_key, job in graph.jobs.items()
        for task, names in ((None, job.parameters), *((t, t.parameters) for t in job.tasks))
        for parameter in names
        if parameter not in known
    )
    if unknown:
        raise UnknownJobParameterError(
            f"the job graph names parameters the platform does not fill: {unknown}; "
            f"known parameters: {sorted(known)} (add the value in infra/databricks_args.py, PARAMETERS, "
            "or fix the graph)"
        )


def named_parameters(task: Task, values: Mapping[str, str]) -> dict[str, str]:
    """The task's values; check_parameters has already refused a graph naming an unfilled one."""
    return {parameter: values[parameter] for parameter in sorted(task.parameters)}


def job_parameters(job: Job, values: Mapping[str, str]) -> list[databricks.JobParameterArgs] | None:
    """What a person may override when starting a run, defaulting to the platform's value.

    Databricks pushes job parameters down to every python_wheel_task with named parameters, and
    a job parameter wins over a task parameter of the same name (docs: "Configure job
    parameters", job parameter pushdown); the wheel's tasks all accept them.
    """
    return [
        databricks.JobParameterArgs(name=name, default=values[name]) for name in sorted(job.parameters)
    ] or None


class JobsArgs(ComponentArgs):
    environment: Environment = Field(description="Tags the jobs; a name, never a decision.")
    names: DatabricksNames = Field(description="The environment's Databricks names (jobs by key).")
    project: str = Field(description="The ML project whose wheel these jobs run.")
    graph: JobGraph = Field(description="The wheel's validated job graph.")
    wheel_path: str = Field(description="Content-addressed /Volumes path of the uploaded wheel.")
    pinned_requirements: tuple[str, ...] = Field(
        default=(), description="name==version of every package the wheel's lock pins (infra/wheel_pins.py)."
    )
    wheel_upload: databricks.File = Field(description="Jobs change only after the new wheel is there.")
    parameter_values: Mapping[str, str] = Field(description="Value per named parameter of the graph.")
    run_as: StrInput = Field(description="Application id of the job service principal.")
    run_as_role: pulumi.Resource = Field(
        description="The rule set giving the deployers Service Principal User on run_as: jobs wait for it."
    )
    compute_mode: ComputeMode
    cluster: JobCluster
    failure_emails: tuple[str, ...]
    schedules_paused: bool
    principals: Mapping[Role, StrInput] = Field(description="Grantee per role.")
    job_access: Mapping[Role, str] = Field(description="ACL level per role on every job.")
    approvers_group: str | None = Field(
        description="Where approval is required: may run the jobs the graph marks run_by_approvers."
    )
    tags: Mapping[str, str]
    provider: databricks.Provider


def _task(task: Task, args: JobsArgs) -> databricks.JobTaskArgs:
    serverless = args.compute_mode is ComputeMode.SERVERLESS
    return databricks.JobTaskArgs(
        task_key=task.key,
        depends_ons=[databricks.JobTaskDependsOnArgs(task_key=key) for key in sorted(task.depends_on)]
        or None,
        python_wheel_task=databricks.JobTaskPythonWheelTaskArgs(
            package_name=args.graph.package_name,
            entry_point=task.entry_point,
            named_parameters=named_parameters(task, args.parameter_values),
        ),
        max_retries=task.max_retries,
        timeout_seconds=task.timeout_seconds,
        environment_key=ENVIRONMENT_KEY if serverless else None,
        job_cluster_key=None if serverless else JOB_CLUSTER_KEY,
        libraries=None if serverless else [databricks.JobTaskLibraryArgs(whl=args.wheel_path)],
    )


def _environments(args: JobsArgs) -> list[databricks.JobEnvironmentArgs] | None:
    """Serverless: one job environment that installs the wheel and exactly the versions its lock
    pins (each dependency is a pip requirements line: Jobs API, JobEnvironment `spec.dependencies`),
    so pip resolves nothing anew on top of the serverless environment."""
    if args.compute_mode is not ComputeMode.SERVERLESS:
        return None
    spec = databricks.JobEnvironmentSpecArgs(
        environment_version=SERVERLESS_ENVIRONMENT_VERSION,
        dependencies=[*args.pinned_requirements, args.wheel_path],
    )
    return [databricks.JobEnvironmentArgs(environment_key=ENVIRONMENT_KEY, spec=spec)]


def _job_clusters(args: JobsArgs) -> list[databricks.JobJobClusterArgs] | None:
    if args.compute_mode is not ComputeMode.JOB_CLUSTER:
        return None
    cluster = databricks.JobJobClusterNewClusterArgs(
        spark_version=args.cluster.spark_version,
        node_type_id=args.cluster.node_type,
        num_workers=args.cluster.num_workers,
        # Unity Catalog access for the run_as principal only.
        data_security_mode="SINGLE_USER",
    )
    return [databricks.JobJobClusterArgs(job_cluster_key=JOB_CLUSTER_KEY, new_cluster=cluster)]


def job_args(job_key: str, job: Job, args: JobsArgs) -> databricks.JobArgs:
    """The job as the provider receives it; tasks sorted by task_key."""
    emails = sorted(set(args.failure_emails))
    schedule = job.schedule
    return databricks.JobArgs(
        name=args.names.job(args.project, job_key),
        description=job.description or None,
        tasks=[_task(task, args) for task in sorted(job.tasks, key=lambda t: t.key)],
        schedule=None
        if schedule is None
        else databricks.JobScheduleArgs(
            quartz_cron_expression=schedule.quartz_cron,
            timezone_id=schedule.timezone,
            pause_status="PAUSED" if args.schedules_paused else "UNPAUSED",
        ),
        max_concurrent_runs=job.max_concurrent_runs,
        timeout_seconds=job.timeout_seconds,
        parameters=job_parameters(job, args.parameter_values),
        # A run triggered while one is active waits instead of being skipped.
        queue=databricks.JobQueueArgs(enabled=True),
        email_notifications=databricks.JobEmailNotificationsArgs(
            on_failures=emails, no_alert_for_skipped_runs=True
        )
        if emails
        else None,
        run_as=databricks.JobRunAsArgs(service_principal_name=args.run_as),
        tags=dict(
            sorted(
                {
                    **args.tags,
                    "environment": args.environment.value,
                    "ml-project": args.project,
                    "job": job_key,
                }.items()
            )
        ),
        environments=_environments(args),
        job_clusters=_job_clusters(args),
    )


def job_access_controls(
    job_key: str, job: Job, args: JobsArgs
) -> list[databricks.PermissionsAccessControlArgs]:
    """The levels of ``job_access``, plus CAN_MANAGE_RUN for the approvers on the release job: after
    tagging the challenger they start it (docs/ml.md, approval). CAN_MANAGE_RUN is the level that
    may trigger a run (Databricks, "Job ACLs"). The job principal keeps it on the training job only,
    the one the monitoring job starts on drift (mlops_framework.retrain): running as a job's run_as needs
    no ACL, so on every other job it would only let the principal's code start what it need not."""
    access = {
        role: level
        for role, level in args.job_access.items()
        if role is not Role.JOB_PRINCIPAL or job_key == TRAINING_JOB
    }
    entries = access_controls(access, args.principals)
    if job.run_by_approvers and args.approvers_group is not None:
        entries.append(
            databricks.PermissionsAccessControlArgs(
                group_name=args.approvers_group, permission_level=APPROVERS_JOB_PERMISSION
            )
        )
    return entries


class WheelJobs(PlatformComponent):
    AREA = "databricks"

    job_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: JobsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check_parameters(args.graph, args.parameter_values)
        super().__init__(name, opts)
        self.job_ids = {}
        for job_key in sorted(args.graph.jobs):
            job = databricks.Job(
                f"{name}-{job_key}",
                args=job_args(job_key, args.graph.jobs[job_key], args),
                opts=self.child_opts(
                    pulumi.ResourceOptions(
                        provider=args.provider, depends_on=[args.wheel_upload, args.run_as_role]
                    )
                ),
            )
            databricks.Permissions(
                f"{name}-{job_key}-permissions",
                job_id=job.id,
                access_controls=job_access_controls(job_key, args.graph.jobs[job_key], args),
                opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider)),
            )
            self.job_ids[job_key] = job.id
        self.register(job_ids=self.job_ids)
