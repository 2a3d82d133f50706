"""Typed loader for `job_graph.toml`, the job graph shipped inside the wheel.

Consumers: the local runner (`iris-mlops run`) and `infra/jobs.py`, which reads the graph from the
built wheel with `load_job_graph_from_wheel` so the Databricks jobs describe the deployed artifact.
"""

from __future__ import annotations

import re
import tomllib
import zipfile
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from importlib.resources import files
from pathlib import Path
from typing import Any

from iris_mlops.errors import IrisMlopsError
from iris_mlops.params import PARAMETER_SPECS

RESOURCE_NAME = "job_graph.toml"
WHEEL_MEMBER = f"iris_mlops/{RESOURCE_NAME}"
SUPPORTED_SCHEMA_VERSION = 1
_JOB_KEY = re.compile(r"[a-z][a-z0-9_]*")


class JobGraphError(IrisMlopsError):
    """The job graph file breaks its contract (docs/contracts.md section 1)."""


@dataclass(frozen=True)
class Schedule:
    quartz_cron: str
    timezone: str


@dataclass(frozen=True)
class Task:
    key: str
    entry_point: str
    parameters: tuple[str, ...]
    depends_on: tuple[str, ...]
    max_retries: int
    timeout_seconds: int


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

        Each task may run ``1 + max_retries`` times, each attempt up to its own timeout; all of it
        happens inside one run of the job, which the job's timeout cuts.
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
            raise JobGraphError(f"job {self.key!r} has a dependency cycle: {error.args[1]}") from error
        return tuple(self.task(key) for key in order)


@dataclass(frozen=True)
class JobGraph:
    schema_version: int
    package_name: str
    jobs: dict[str, Job]

    def job(self, name: str) -> Job:
        """Look a job up by its key or its CLI spelling (`batch-inference` for `batch_inference`)."""
        key = name.replace("-", "_")
        if key not in self.jobs:
            allowed = ", ".join(sorted({*self.jobs, *(k.replace("_", "-") for k in self.jobs)}))
            raise JobGraphError(f"unknown job {name!r}; allowed: {allowed}")
        return self.jobs[key]


def _task(job_key: str, raw: dict[str, Any]) -> Task:
    task = Task(
        key=str(raw["key"]),
        entry_point=str(raw["entry_point"]),
        parameters=tuple(raw.get("parameters", ())),
        depends_on=tuple(raw.get("depends_on", ())),
        max_retries=int(raw.get("max_retries", 0)),
        timeout_seconds=int(raw["timeout_seconds"]),
    )
    unknown = [name for name in task.parameters if name not in PARAMETER_SPECS]
    if unknown:
        raise JobGraphError(f"job {job_key!r} task {task.key!r}: unknown parameters {unknown}")
    return task


def _job(key: str, raw: dict[str, Any]) -> Job:
    if not _JOB_KEY.fullmatch(key):
        raise JobGraphError(f"job key {key!r} must be snake_case")
    tasks = tuple(_task(key, task) for task in raw["tasks"])
    keys = [task.key for task in tasks]
    if len(set(keys)) != len(keys):
        raise JobGraphError(f"job {key!r} has duplicate task keys: {keys}")
    for task in tasks:
        missing = set(task.depends_on) - set(keys)
        if missing:
            raise JobGraphError(f"job {key!r} task {task.key!r} depends on unknown tasks {sorted(missing)}")
    job = Job(
        key=key,
        description=str(raw["description"]),
        schedule=Schedule(**raw["schedule"]) if "schedule" in raw else None,
        max_concurrent_runs=int(raw["max_concurrent_runs"]),
        timeout_seconds=int(raw["timeout_seconds"]),
        tasks=tasks,
        parameters=tuple(raw.get("parameters", ())),
        run_by_approvers=bool(raw.get("run_by_approvers", False)),
    )
    unknown = [name for name in job.parameters if name not in PARAMETER_SPECS]
    if unknown:
        raise JobGraphError(f"job {key!r}: unknown job parameters {unknown}")
    job.execution_order()  # rejects cycles at load time
    seconds, chain = job.longest_chain()
    if job.timeout_seconds < seconds:
        raise JobGraphError(
            f"job {key!r} times out after {job.timeout_seconds} s, before its longest task chain "
            f"{' -> '.join(chain)} may finish ({seconds} s, counting retries); "
            f"allowed: timeout_seconds >= {seconds}"
        )
    return job


def parse_job_graph(text: str) -> JobGraph:
    raw = tomllib.loads(text)
    version = raw.get("schema_version")
    if version != SUPPORTED_SCHEMA_VERSION:
        expected = SUPPORTED_SCHEMA_VERSION
        raise JobGraphError(f"schema_version {version!r} is not supported; expected {expected}")
    try:
        jobs = {key: _job(key, job) for key, job in raw["jobs"].items()}
    except (KeyError, TypeError) as error:
        raise JobGraphError(f"job graph is missing or mistypes a field: {error}") from error
    return JobGraph(schema_version=version, package_name=str(raw["package_name"]), jobs=jobs)


def load_job_graph() -> JobGraph:
    """The graph of the installed package."""
    return parse_job_graph(files("iris_mlops").joinpath(RESOURCE_NAME).read_text(encoding="utf-8"))


def load_job_graph_from_wheel(wheel: Path) -> JobGraph:
    """The graph inside a built wheel, without installing it."""
    with zipfile.ZipFile(wheel) as archive:
        return parse_job_graph(archive.read(WHEEL_MEMBER).decode("utf-8"))
