"""Databricks Jobs as the wheel meets them: job runs of python_wheel_tasks, and the Jobs API.

A job run (`JobRunInProgress`) gives each task its named parameters with dynamic value references
resolved (`{{job.run_id}}`: Databricks, "Dynamic value references"), then every job parameter,
pushed down and winning over a task parameter of the same name ("Configure job parameters", job
parameter pushdown); a legacy run-now's `python_named_params` replace the named parameters of every
wheel task (Jobs API `run-now`). Tasks run in dependency order, a task whose upstream failed is
skipped; two runs of different jobs may interleave task by task, as concurrent runs do.

The Jobs API (`JobsService`, on the loopback workspace of fake_workspace_server.py) is what the
databricks-sdk's `JobsAPI` calls (`databricks/sdk/service/jobs.py`): `GET /api/2.2/jobs/list`
(filtered by name), `GET /api/2.2/jobs/runs/list` (`active_only`), `POST /api/2.2/jobs/run-now`,
which needs CAN_MANAGE_RUN on the job ("Job ACLs") and, given an idempotency token it has seen,
"does not create a new run but returns the ID of the existing run instead".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fake_workspace_server import ApiError, FakeWorkspaceServer, Request, Response

JOB_RUN_REFERENCE = "{{job.run_id}}"
ACTIVE_STATES = frozenset({"QUEUED", "PENDING", "RUNNING"})
_RUN_IDS = itertools.count(700_000_000_001)
RunTask = Callable[[str, list[str]], None]


def resolve_references(value: str, job_run: str) -> str:
    return value.replace(JOB_RUN_REFERENCE, job_run)


@dataclass(frozen=True)
class JobTask:
    key: str
    entry_point: str
    named_parameters: Mapping[str, str]
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobDefinition:
    name: str
    tasks: tuple[JobTask, ...]  # in an order that runs every task after its dependencies
    parameters: Mapping[str, str]  # job parameters and their defaults
    quartz_cron: str | None = None  # None: no schedule, or paused
    max_concurrent_runs: int = 1

    def task(self, key: str) -> JobTask:
        return next(task for task in self.tasks if task.key == key)


@dataclass
class JobRunInProgress:
    """One run of a job: its id, its parameters, and how far it got."""

    job: JobDefinition
    job_parameters: Mapping[str, str] = field(default_factory=dict)
    python_named_params: Mapping[str, str] | None = None
    run_id: str = field(default_factory=lambda: str(next(_RUN_IDS)))
    outcomes: dict[str, str] = field(default_factory=dict)  # task key -> succeeded, failed: <code>, skipped
    errors: dict[str, str] = field(default_factory=dict)  # task key -> what a failed task said

    @property
    def succeeded(self) -> bool:
        return all(self.outcomes.get(task.key) == "succeeded" for task in self.job.tasks)

    @property
    def done(self) -> bool:
        return len(self.outcomes) == len(self.job.tasks)

    def arguments(self, task: JobTask) -> list[str]:
        named = dict(task.named_parameters if self.python_named_params is None else self.python_named_params)
        named.update({**self.job.parameters, **self.job_parameters})
        return [f"--{key}={resolve_references(value, self.run_id)}" for key, value in named.items()]

    def step(self, key: str, run_task: RunTask) -> str:
        """Run task `key` (skipped when an upstream task did not succeed); its outcome."""
        task = self.job.task(key)
        if any(self.outcomes.get(upstream) != "succeeded" for upstream in task.depends_on):
            self.outcomes[key] = "skipped"
            return self.outcomes[key]
        try:
            run_task(task.entry_point, self.arguments(task))
            self.outcomes[key] = "succeeded"
        except SystemExit as exit_:
            self.outcomes[key] = "succeeded" if exit_.code in (None, 0) else f"failed: {exit_.code}"
            self.errors[key] = str(exit_.__cause__ or exit_)
        return self.outcomes[key]

    def finish(self, run_task: RunTask) -> JobRunInProgress:
        for task in self.job.tasks:
            if task.key not in self.outcomes:
                self.step(task.key, run_task)
        return self


def from_graph(
    graph: Any, job_key: str, task_parameters: Mapping[str, str], defaults: Mapping[str, str]
) -> JobDefinition:
    """A job of the wheel's graph with the platform's named parameters (as infra/jobs.py makes it)."""
    job = graph.job(job_key)
    tasks = tuple(
        JobTask(
            task.key,
            task.entry_point,
            {name: task_parameters[name] for name in task.parameters},
            task.depends_on,
        )
        for task in job.execution_order()
    )
    return JobDefinition(job_key, tasks, {name: defaults[name] for name in job.parameters})


@dataclass
class JobsService:
    """The workspace's jobs, who may run them, and their runs; `install` routes the API."""

    jobs: dict[int, JobDefinition] = field(default_factory=dict)
    runners: dict[int, set[str]] = field(default_factory=dict)  # job id -> principals with CAN_MANAGE_RUN
    runs: list[tuple[int, JobRunInProgress]] = field(default_factory=list)
    queued: list[tuple[int, JobRunInProgress]] = field(default_factory=list)  # started by run-now
    tokens: dict[str, str] = field(default_factory=dict)  # idempotency token -> run id
    _ids: Any = field(default_factory=lambda: itertools.count(1001))

    def create(self, job: JobDefinition, run_by: Sequence[str]) -> int:
        job_id = next(self._ids)
        self.jobs[job_id], self.runners[job_id] = job, set(run_by)
        return job_id

    def job_id(self, name: str) -> int:
        return next(job_id for job_id, job in self.jobs.items() if job.name == name)

    def install(self, server: FakeWorkspaceServer) -> None:
        server.route("GET", re.escape("/api/2.2/jobs/list"), self.list_jobs)
        server.route("GET", re.escape("/api/2.2/jobs/runs/list"), self.list_runs)
        server.route("POST", re.escape("/api/2.2/jobs/run-now"), self.run_now)

    def start(self, job_id: int, run: JobRunInProgress) -> JobRunInProgress:
        self.runs.append((job_id, run))
        return run

    def list_jobs(self, request: Request, _: re.Match[str]) -> Response:
        name = request.query.get("name")
        found = [
            {"job_id": job_id, "settings": {"name": job.name}}
            for job_id, job in self.jobs.items()
            if name in (None, job.name) and request.principal in self.runners[job_id]
        ]
        return Response.of_json({"jobs": found})

    def list_runs(self, request: Request, _: re.Match[str]) -> Response:
        job_id = int(request.query["job_id"])
        active_only = request.query.get("active_only", "false").lower() == "true"
        found = [
            {"run_id": int(run.run_id), "job_id": job_id, "state": {"life_cycle_state": self._state(run)}}
            for owner, run in (*self.runs, *self.queued)
            if owner == job_id and (not active_only or self._state(run) in ACTIVE_STATES)
        ]
        return Response.of_json({"runs": found})

    def _state(self, run: JobRunInProgress) -> str:
        if any(run is queued for _, queued in self.queued):
            return "QUEUED"
        return "TERMINATED" if run.done else "RUNNING"

    def run_now(self, request: Request, _: re.Match[str]) -> Response:
        body = request.json()
        job_id = int(body["job_id"])
        if job_id not in self.jobs or request.principal not in self.runners[job_id]:
            raise ApiError("PERMISSION_DENIED", f"{request.principal} lacks CAN_MANAGE_RUN on job {job_id}")
        token = body.get("idempotency_token")
        if token in self.tokens:
            return Response.of_json({"run_id": int(self.tokens[token])})
        run = JobRunInProgress(self.jobs[job_id], job_parameters=dict(body.get("job_parameters") or {}))
        self.queued.append((job_id, run))
        if token:
            self.tokens[token] = run.run_id
        return Response.of_json({"run_id": int(run.run_id), "number_in_job": int(run.run_id)})

    def take_queued(self) -> list[tuple[int, JobRunInProgress]]:
        """The runs run-now started, now running (the caller runs them)."""
        taken, self.queued = self.queued, []
        self.runs.extend(taken)
        return taken
