"""Weeks of one environment on the fake workspace, run by its own schedules.

The jobs are the ones the real program plans for the stack (stacks/offline.py: the Job resources
of a project, with their tasks, named parameters, job parameters and quartz schedules), so what
runs is what `pulumi up` would create. A simulated clock moves in quarter hours; at each step the
world's scripted events happen (data arrives, an approver approves and starts the release), then
the runs that `run-now` queued start (a drift retrain), then every unpaused job whose schedule
fires. The backend reads the clock (Backend.now), so scoring days, drift windows and deployments
carry simulated dates; MLflow's run times stay real, which only orders them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from databricks_workspace import JOBS, Environment, run_iris_task
from fake_jobs import JobDefinition, JobRunInProgress, JobsService, JobTask

JOB_TYPE = "databricks:index/job:Job"
STEP = timedelta(minutes=15)
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def _ordered(tasks: Iterable[JobTask]) -> tuple[JobTask, ...]:
    pending, done, ordered = list(tasks), set[str](), []
    while pending:
        ready = next(task for task in pending if set(task.depends_on) <= done)
        pending.remove(ready)
        done.add(ready.key)
        ordered.append(ready)
    return tuple(ordered)


def planned_jobs(resources: Iterable[Any], project: str) -> dict[str, JobDefinition]:
    """The project's jobs as planned, keyed by job key (`training`, `release`, ...)."""
    prefix = f"databricks-{project}-jobs-"
    jobs = {}
    for resource in resources:
        if resource.type != JOB_TYPE or not resource.name.startswith(prefix):
            continue
        inputs = resource.inputs
        tasks = (
            JobTask(
                task["taskKey"],
                task["pythonWheelTask"]["entryPoint"],
                task["pythonWheelTask"]["namedParameters"],
                tuple(upstream["taskKey"] for upstream in task.get("dependsOns") or ()),
            )
            for task in inputs["tasks"]
        )
        schedule = inputs.get("schedule") or {}
        cron = schedule.get("quartzCronExpression") if schedule.get("pauseStatus") == "UNPAUSED" else None
        parameters = {item["name"]: item["default"] for item in inputs.get("parameters") or ()}
        runs = int(inputs.get("maxConcurrentRuns", 1))
        jobs[resource.name.removeprefix(prefix)] = JobDefinition(
            inputs["name"], _ordered(tasks), parameters, cron, runs
        )
    return jobs


def _field_matches(field_: str, value: int, names: Sequence[str] = ()) -> bool:
    if field_ in ("*", "?"):
        return True
    allowed = {names.index(item) if item in names else int(item) for item in field_.split(",")}
    return value in allowed


def quartz_fires(expression: str, at: datetime) -> bool:
    """Whether a quartz cron (seconds minutes hours day-of-month month day-of-week) fires at `at`,
    for the forms the job graphs use: numbers, lists, `*`, `?` and day names."""
    second, minute, hour, day, month, weekday = expression.split()
    return (
        at.second == 0
        and _field_matches(second, 0)
        and _field_matches(minute, at.minute)
        and _field_matches(hour, at.hour)
        and _field_matches(day, at.day)
        and _field_matches(month, at.month)
        and _field_matches(weekday, at.weekday(), _DAYS)
    )


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Entry:
    at: datetime
    job: str
    why: str
    run_id: str
    outcomes: Mapping[str, str]


Event = Callable[["Simulation"], None]


@dataclass
class Simulation:
    environment: Environment
    jobs: Mapping[str, JobDefinition]
    service: JobsService
    clock: Clock
    timeline: list[Entry] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)  # job key -> job id in the Jobs API
    notes: list[tuple[datetime, str]] = field(default_factory=list)  # what the world did

    def register(self, run_by: Mapping[str, Sequence[str]]) -> None:
        """The jobs in the workspace's Jobs API: the job principal may run them all (it starts the
        training on drift), approvers the release (CAN_MANAGE_RUN, infra/access.py)."""
        self.ids = {
            key: self.service.create(job, (JOBS, *run_by.get(key, ()))) for key, job in self.jobs.items()
        }

    def start(self, key: str, **job_parameters: str) -> JobRunInProgress:
        return self.service.start(self.ids[key], JobRunInProgress(self.jobs[key], job_parameters))

    def step(self, run: JobRunInProgress, task: str) -> str:
        """One task of a run, as the job's run_as (the job principal)."""
        with self.environment.acting_as(JOBS):
            return run.step(task, run_iris_task)

    def finish(self, run: JobRunInProgress, why: str) -> JobRunInProgress:
        for task in run.job.tasks:
            if task.key not in run.outcomes:
                self.step(run, task.key)
        key = next(key for key, job in self.jobs.items() if job is run.job)
        self.timeline.append(Entry(self.clock.now, key, why, run.run_id, dict(run.outcomes)))
        return run

    def note(self, text: str) -> None:
        self.notes.append((self.clock.now, text))

    def queued(self) -> list[JobRunInProgress]:
        return [run for _, run in self.service.take_queued()]

    def advance(self, until: datetime, events: Mapping[datetime, Event]) -> None:
        """Quarter hour by quarter hour: the world's event, the runs run-now queued in the last
        quarter, then the scheduled runs that fire now."""
        while self.clock.now < until:
            if (event := events.get(self.clock.now)) is not None:
                event(self)
            for run in self.queued():
                self.finish(run, "run-now")
            for key, job in self.jobs.items():
                if job.quartz_cron is not None and quartz_fires(job.quartz_cron, self.clock.now):
                    self.finish(self.start(key), "schedule")
            self.clock.now += STEP
