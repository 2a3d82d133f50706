"""The job-graph contract: the model of `job_graph.toml`, its parser and every rule it must obey.

The graph ships inside the wheel. Two readers share this one module: the local runner
(`iris-mlops run`, through `load_job_graph`) and the platform, which reads the graph out of the
*built* wheel (`infra/wheel.py` calls `parse_job_graph` on the member `wheel_member(<package>)`,
the project's own package: `iris_mlops/job_graph.toml` for Iris) so the
Databricks jobs describe the deployed artifact. It imports the standard library only: the platform
reads it without the wheel's dependencies, and the wheel cannot import the platform.
Contract: docs/contracts.md section 1.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from importlib.resources import files
from typing import Any

RESOURCE_NAME = "job_graph.toml"
SUPPORTED_SCHEMA_VERSION = 1
SNAKE_KEY = re.compile(r"[a-z][a-z0-9_]*")  # job keys, parameter names, package_name
TASK_KEY = re.compile(r"[a-z][a-z0-9_-]{0,99}")  # Jobs API task_key: at most 100 characters
MAX_RETRIES = 10
MAX_CONCURRENT_RUNS = 1000

_GRAPH_FIELDS = {"schema_version", "package_name", "jobs"}
_JOB_FIELDS = {
    "description",
    "schedule",
    "max_concurrent_runs",
    "timeout_seconds",
    "parameters",
    "run_by_approvers",
    "tasks",
}
_OPTIONAL_JOB_FIELDS = {"schedule", "parameters", "run_by_approvers"}
_TASK_FIELDS = {"key", "entry_point", "parameters", "depends_on", "max_retries", "timeout_seconds"}
_SCHEDULE_FIELDS = {"quartz_cron", "timezone"}


class JobGraphError(ValueError):
    """The job graph file breaks its contract; the message names the field and what is allowed."""

    exit_code = 1


@dataclass(frozen=True)
class Schedule:
    quartz_cron: str  # Quartz cron expression, as the Jobs API takes it
    timezone: str  # Java time zone id


@dataclass(frozen=True)
class Task:
    key: str  # task_key, unique within the job
    entry_point: str  # a console script of the wheel
    parameters: tuple[str, ...]  # named parameters the platform fills per environment
    depends_on: tuple[str, ...]  # keys of tasks in the same job
    max_retries: int
    timeout_seconds: int  # each attempt's limit; required, so a job's timeout can be checked


@dataclass(frozen=True)
class Job:
    key: str
    description: str
    schedule: Schedule | None  # None: started by hand (the release job)
    max_concurrent_runs: int
    timeout_seconds: int
    tasks: tuple[Task, ...]
    parameters: tuple[str, ...] = ()  # job-level: pushed down to every task, a person may override
    run_by_approvers: bool = False  # where approval is required, the approvers group may start it

    def task(self, key: str) -> Task:
        for task in self.tasks:
            if task.key == key:
                return task
        raise JobGraphError(f"job {self.key!r} has no task {key!r}")

    def longest_chain(self) -> tuple[int, tuple[str, ...]]:
        """The most seconds any dependency chain may take, and that chain's task keys.

        A job's ``timeout_seconds`` covers one run with all its task attempts (Jobs API
        ``JobSettings``); each task may take ``1 + max_retries`` attempts of up to its own timeout.
        """
        best: dict[str, tuple[int, tuple[str, ...]]] = {}
        for task in self.execution_order():
            before = max((best[key] for key in task.depends_on), default=(0, ()))
            own = task.timeout_seconds * (1 + task.max_retries)
            best[task.key] = (before[0] + own, (*before[1], task.key))
        return max(best.values(), default=(0, ()))

    def execution_order(self) -> tuple[Task, ...]:
        """Tasks in dependency order (ties broken by file order, so runs are repeatable)."""
        sorter = TopologicalSorter({task.key: task.depends_on for task in self.tasks})
        try:
            order = list(sorter.static_order())
        except CycleError as error:
            cycle = " -> ".join(error.args[1])
            raise JobGraphError(f"job {self.key!r} has a dependency cycle: {cycle}") from error
        return tuple(self.task(key) for key in order)


@dataclass(frozen=True)
class JobGraph:
    schema_version: int
    package_name: str
    jobs: Mapping[str, Job]

    def job(self, name: str) -> Job:
        """Look a job up by its key or its CLI spelling (`batch-inference` for `batch_inference`)."""
        key = name.replace("-", "_")
        if key not in self.jobs:
            allowed = ", ".join(sorted({*self.jobs, *(k.replace("_", "-") for k in self.jobs)}))
            raise JobGraphError(f"unknown job {name!r}; allowed: {allowed}")
        return self.jobs[key]

    def parameters(self) -> frozenset[str]:
        """Every named parameter a task or a job of the graph takes."""
        return frozenset(
            name
            for job in self.jobs.values()
            for names in (job.parameters, *(task.parameters for task in job.tasks))
            for name in names
        )


def _fields(where: str, raw: object, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise JobGraphError(f"{where} must be a table, got {type(raw).__name__}")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise JobGraphError(f"{where}: unknown fields {unknown}; allowed: {sorted(allowed)}")
    missing = sorted(required - set(raw))
    if missing:
        raise JobGraphError(f"{where}: missing fields {missing}")
    return raw


def _int(where: str, value: object, low: int, high: int | None = None) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        allowed = f"an integer >= {low}" + (f" and <= {high}" if high is not None else "")
        raise JobGraphError(f"{where} is {value!r}; allowed: {allowed}")
    return value


def _bool(where: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise JobGraphError(f"{where} is {value!r}; allowed: true, false")
    return value


def _str(where: str, value: object, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or not value or (pattern is not None and not pattern.fullmatch(value)):
        allowed = f"a string matching {pattern.pattern}" if pattern is not None else "a non-empty string"
        raise JobGraphError(f"{where} is {value!r}; allowed: {allowed}")
    return value


def _names(where: str, value: object, pattern: re.Pattern[str]) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise JobGraphError(f"{where} must be a list, got {value!r}")
    return tuple(_str(f"{where}[{i}]", item, pattern) for i, item in enumerate(value))


def _task(job_key: str, index: int, raw: object) -> Task:
    where = f"jobs.{job_key}.tasks[{index}]"
    fields = _fields(where, raw, _TASK_FIELDS, {"key", "entry_point", "timeout_seconds"})
    return Task(
        key=_str(f"{where}.key", fields["key"], TASK_KEY),
        entry_point=_str(f"{where}.entry_point", fields["entry_point"]),
        parameters=_names(f"{where}.parameters", fields.get("parameters", []), SNAKE_KEY),
        depends_on=_names(f"{where}.depends_on", fields.get("depends_on", []), TASK_KEY),
        max_retries=_int(f"{where}.max_retries", fields.get("max_retries", 0), 0, MAX_RETRIES),
        timeout_seconds=_int(f"{where}.timeout_seconds", fields["timeout_seconds"], 1),
    )


def _schedule(where: str, raw: object) -> Schedule:
    fields = _fields(where, raw, _SCHEDULE_FIELDS, _SCHEDULE_FIELDS)
    return Schedule(
        quartz_cron=_str(f"{where}.quartz_cron", fields["quartz_cron"]),
        timezone=_str(f"{where}.timezone", fields["timezone"]),
    )


def _job(key: str, raw: object) -> Job:
    where = f"jobs.{key}"
    _str("job key", key, SNAKE_KEY)
    fields = _fields(where, raw, _JOB_FIELDS, _JOB_FIELDS - _OPTIONAL_JOB_FIELDS)
    raw_tasks = fields["tasks"]
    if not isinstance(raw_tasks, list) or not raw_tasks:
        raise JobGraphError(f"{where}.tasks must be a non-empty list of tables")
    tasks = tuple(_task(key, index, task) for index, task in enumerate(raw_tasks))
    keys = [task.key for task in tasks]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise JobGraphError(f"job {key!r} has duplicate task keys {duplicates}")
    for task in tasks:
        missing = sorted(set(task.depends_on) - set(keys))
        if missing:
            raise JobGraphError(
                f"job {key!r} task {task.key!r} depends on unknown tasks {missing}; known: {sorted(keys)}"
            )
    job = Job(
        key=key,
        description=_str(f"{where}.description", fields["description"]),
        schedule=_schedule(f"{where}.schedule", fields["schedule"]) if "schedule" in fields else None,
        max_concurrent_runs=_int(
            f"{where}.max_concurrent_runs", fields["max_concurrent_runs"], 1, MAX_CONCURRENT_RUNS
        ),
        timeout_seconds=_int(f"{where}.timeout_seconds", fields["timeout_seconds"], 1),
        tasks=tasks,
        parameters=_names(f"{where}.parameters", fields.get("parameters", []), SNAKE_KEY),
        run_by_approvers=_bool(f"{where}.run_by_approvers", fields.get("run_by_approvers", False)),
    )
    # Databricks lets a job parameter win over a task parameter of the same name.
    clashes = sorted({p for task in tasks for p in task.parameters} & set(job.parameters))
    if clashes:
        raise JobGraphError(f"job {key!r}: job parameters {clashes} are also task parameters; name each once")
    seconds, chain = job.longest_chain()  # also rejects cycles
    if job.timeout_seconds < seconds:
        raise JobGraphError(
            f"job {key!r} times out after {job.timeout_seconds} s, before its longest task chain "
            f"{' -> '.join(chain)} may finish ({seconds} s, counting retries): Databricks would cancel "
            f"the run while its tasks are still within their own timeouts; "
            f"allowed: timeout_seconds >= {seconds}"
        )
    return job


def parse_job_graph(text: str, known_parameters: Collection[str] | None = None) -> JobGraph:
    """Parse and validate a graph; ``known_parameters``, when given, bounds every parameter name."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise JobGraphError(f"{RESOURCE_NAME} is not valid TOML: {error}") from error
    version = raw.get("schema_version")
    if version != SUPPORTED_SCHEMA_VERSION:
        raise JobGraphError(
            f"schema_version {version!r} is not supported; allowed: {SUPPORTED_SCHEMA_VERSION}"
        )
    fields = _fields("the graph", raw, _GRAPH_FIELDS, _GRAPH_FIELDS)
    raw_jobs = fields["jobs"]
    if not isinstance(raw_jobs, dict) or not raw_jobs:
        raise JobGraphError("jobs must be a non-empty table of jobs")
    graph = JobGraph(
        schema_version=version,
        package_name=_str("package_name", fields["package_name"], SNAKE_KEY),
        jobs={key: _job(key, job) for key, job in raw_jobs.items()},
    )
    if known_parameters is not None:
        unknown = sorted(graph.parameters() - set(known_parameters))
        if unknown:
            raise JobGraphError(f"unknown parameters {unknown}; allowed: {sorted(known_parameters)}")
    return graph


def load_job_graph(package: str) -> JobGraph:
    """The graph of an installed project package (tests/ml check its parameters against the entry
    points)."""
    graph = parse_job_graph(files(package).joinpath(RESOURCE_NAME).read_text(encoding="utf-8"))
    if graph.package_name != package:
        raise JobGraphError(f"{package}/{RESOURCE_NAME} names package_name {graph.package_name!r}")
    return graph


def wheel_member(package: str) -> str:
    """Where a project's wheel holds its graph: inside the project's own package."""
    return f"{package}/{RESOURCE_NAME}"


# Where a project's wheel carries the framework: vendored inside the project's own package
# (ml/hatch_build.py; docs/ml.md, "Projects"), so no two project wheels hold the same module.
VENDORED_FRAMEWORK = "_framework"


def vendored_framework(package: str) -> str:
    """The framework's import name inside the wheel of project package `package`."""
    return f"{package}.{VENDORED_FRAMEWORK}"


# What a Databricks job installs besides the wheel: the framework's dependencies at the exact
# versions that were tested, compiled for serverless environment 4's Python (`make lock`). Every
# project's wheel carries it with its copy of the framework, and the platform pins its versions
# in the job environment (infra/jobs.py).
DATABRICKS_REQUIREMENTS = "requirements-databricks.lock"


def databricks_requirements_member(package: str) -> str:
    """Where the wheel of project package `package` holds the framework's Databricks lock."""
    return f"{package}/{VENDORED_FRAMEWORK}/{DATABRICKS_REQUIREMENTS}"
