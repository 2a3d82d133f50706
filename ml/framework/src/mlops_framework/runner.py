"""Run a job of the job graph locally, in dependency order, from the installed package.

Tasks run in-process by default: each task is called through its console-script entry-point
object (the same metadata Databricks uses), so the ~3-5 s of importing mlflow and scikit-learn is
paid once per job instead of once per task. `isolation="process"` runs each console script as its
own process instead, as Databricks does; the console scripts are tested that way separately.
Retries and timeouts from the graph are applied by Databricks, not here: locally a failure should
surface at once.

Before the first task, every parameter of the whole job is checked (names and values, every
problem at once, exit code 2), so a bad value never leaves a half-run job behind. A job with a task
that moves the model's aliases runs under the model's training lock (locks.py) from its first task
to its last.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .entrypoints import run_task, task_entry
from .job_graph import Job, Task
from .params import JOB_RUN_PARAMETER, TaskParameters, parse_parameters, split_argument
from .project import ProjectSpec


class Isolation(StrEnum):
    IN_PROCESS = "in-process"
    PROCESS = "process"


class TaskStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # an upstream task failed


@dataclass(frozen=True)
class TaskOutcome:
    key: str
    status: TaskStatus
    seconds: float
    detail: str = ""


@dataclass(frozen=True)
class JobReport:
    job: str
    outcomes: tuple[TaskOutcome, ...]

    @property
    def succeeded(self) -> bool:
        return all(outcome.status is TaskStatus.SUCCEEDED for outcome in self.outcomes)

    @property
    def failed_task(self) -> TaskOutcome | None:
        return next((o for o in self.outcomes if o.status is TaskStatus.FAILED), None)

    def table(self) -> Table:
        table = Table(title=f"job {self.job}")
        for column in ("task", "status", "seconds", "detail"):
            table.add_column(column)
        for outcome in self.outcomes:
            style = {"succeeded": "green", "failed": "bold red", "skipped": "yellow"}[outcome.status]
            table.add_row(
                outcome.key, f"[{style}]{outcome.status}[/]", f"{outcome.seconds:.1f}", outcome.detail
            )
        return table


def task_arguments(task: Task, arguments: Sequence[str], project: ProjectSpec) -> list[str]:
    """The job's `--key=value` arguments that this task's entry point accepts."""
    accepted = task_entry(task.entry_point, project).accepted
    return [argument for argument in arguments if split_argument(argument)[0] in accepted]


def accepted_by(jobs: Sequence[Job], project: ProjectSpec) -> tuple[str, ...]:
    return tuple(
        dict.fromkeys(
            name
            for job in jobs
            for task in job.tasks
            for name in task_entry(task.entry_point, project).accepted
        )
    )


def check_job_arguments(
    jobs: Sequence[Job], arguments: Sequence[str], project: ProjectSpec
) -> TaskParameters:
    """Every argument's name and value, checked against what the jobs' tasks accept, before any
    task runs; one ParameterError (exit code 2) lists every problem."""
    program = "job " + " + ".join(job.key for job in jobs)
    parsed = parse_parameters(arguments, accepted_by(jobs, project), program, defaults=project.defaults())
    return project.checked(parsed)


def job_arguments(job: Job, arguments: Sequence[str], project: ProjectSpec) -> list[str]:
    """The arguments (already checked) that some task of `job` accepts."""
    accepted = set(accepted_by([job], project))
    return [argument for argument in arguments if split_argument(argument)[0] in accepted]


@contextmanager
def job_lock(job: Job, params: TaskParameters, project: ProjectSpec) -> Iterator[Mapping[str, str]]:
    """The model's training lock for a job that moves aliases; yields what child task processes
    need in their environment to know the runner holds it for them."""
    if not any(task_entry(task.entry_point, project).locks_model for task in job.tasks):
        yield {}
        return
    from .backends import select_backend  # noqa: PLC0415 - mlflow: seconds of imports
    from .backends.base import LocalState  # noqa: PLC0415
    from .locks import child_environment, training_lock  # noqa: PLC0415

    backend = select_backend()
    if not isinstance(backend, LocalState):
        yield {}
        return
    model_name = f"{params.catalog}.{params.schema}.{params.model_name}"
    with training_lock(backend.home, model_name):
        yield child_environment(backend.home, model_name)


def _run_in_process(task: Task, arguments: list[str], project: ProjectSpec) -> str:
    """What the task's console script runs (ProjectScripts), called with this runner's own copy of
    the framework: a project's wheel vendors one, and the runner's locks and state are per copy."""
    try:
        run_task(task.entry_point, arguments, project)
    except SystemExit as exit_:
        if exit_.code not in (None, 0):
            return f"exit code {exit_.code}"
    return ""


def _run_as_process(task: Task, arguments: list[str], env: Mapping[str, str]) -> str:
    script = Path(sys.executable).with_name(task.entry_point)
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(script), *arguments], check=False, env={**os.environ, **env}
    )
    return f"exit code {result.returncode}" if result.returncode else ""


def _run_task(
    task: Task, arguments: list[str], isolation: Isolation, env: Mapping[str, str], project: ProjectSpec
) -> str:
    """'' on success, else a one-line reason."""
    if isolation is Isolation.PROCESS:
        return _run_as_process(task, arguments, env)
    try:
        return _run_in_process(task, arguments, project)
    # A crashing task must be reported as that task's failure, as Databricks would, not end the run.
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"


def with_job_run(arguments: Sequence[str]) -> list[str]:
    """The arguments plus this run's `job_run_id`, as Databricks fills `{{job.run_id}}`: deploy
    acts on the verdict approve recorded in the same job run (decisions.py)."""
    if any(split_argument(argument)[0] == JOB_RUN_PARAMETER for argument in arguments):
        return list(arguments)
    return [*arguments, f"--{JOB_RUN_PARAMETER}=local-{uuid.uuid4().hex[:16]}"]


def run_job(
    job: Job,
    arguments: Sequence[str] = (),
    isolation: Isolation = Isolation.IN_PROCESS,
    console: Console | None = None,
    *,
    project: ProjectSpec,
) -> JobReport:
    params = check_job_arguments([job], arguments, project)
    with job_lock(job, params, project) as child_env:
        return _run_tasks(job, with_job_run(arguments), isolation, console, child_env, project=project)


def _run_tasks(
    job: Job,
    arguments: Sequence[str],
    isolation: Isolation,
    console: Console | None,
    env: Mapping[str, str],
    *,
    project: ProjectSpec,
) -> JobReport:
    outcomes: list[TaskOutcome] = []
    failed = False
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        rows = {task.key: progress.add_task(f"{task.key}: waiting", start=False) for task in job.tasks}
        for task in job.execution_order():
            row = rows[task.key]
            if failed:
                outcomes.append(TaskOutcome(task.key, TaskStatus.SKIPPED, 0.0, "upstream task failed"))
                progress.update(row, description=f"{task.key}: skipped")
                continue
            progress.start_task(row)
            progress.update(row, description=f"{task.key}: running")
            started = time.perf_counter()
            reason = _run_task(task, task_arguments(task, arguments, project), isolation, env, project)
            seconds = time.perf_counter() - started
            progress.stop_task(row)
            status = TaskStatus.FAILED if reason else TaskStatus.SUCCEEDED
            progress.update(row, description=f"{task.key}: {status}")
            outcomes.append(TaskOutcome(task.key, status, seconds, reason))
            failed = failed or bool(reason)
    return JobReport(job.key, tuple(outcomes))
