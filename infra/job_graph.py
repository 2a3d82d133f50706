"""Read the job graph and the entry points out of the built wheel, and validate them together.

The wheel in ``dist/`` is the artifact being deployed, so the jobs are described by the graph
*inside* it (``iris_mlops/job_graph.toml``, docs/contracts.md section 1), never by a copy.
"""

from __future__ import annotations

import configparser
import hashlib
import re
import tomllib
import zipfile
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

GRAPH_MEMBER = "iris_mlops/job_graph.toml"
WHEEL_GLOB = "iris_mlops-*.whl"
MAKE_WHEEL_HINT = "run `make wheel` to build it into dist/"

# PEP 427: {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
_WHEEL_NAME = re.compile(
    r"^(?P<distribution>[A-Za-z0-9_.]+)-(?P<version>[^-]+)(-[^-]+)?-[^-]+-[^-]+-[^-]+\.whl$"
)

SnakeKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
TaskKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=100)]


class WheelError(ValueError):
    """The wheel is missing, unreadable, or its job graph does not match its entry points."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Schedule(_Strict):
    quartz_cron: str = Field(min_length=1, description="Quartz cron expression, as the Jobs API takes it.")
    timezone: str = Field(default="UTC", description="Java time zone id.")


class TaskSpec(_Strict):
    key: TaskKey = Field(description="task_key, unique within the job.")
    entry_point: str = Field(min_length=1, description="A console script of the wheel.")
    parameters: tuple[SnakeKey, ...] = Field(default=(), description="Named parameters the platform fills.")
    depends_on: tuple[TaskKey, ...] = Field(default=(), description="Keys of tasks in the same job.")
    max_retries: int = Field(default=0, ge=0, le=10)
    timeout_seconds: int = Field(default=0, ge=0, description="0 means no timeout.")


class JobSpec(_Strict):
    description: str = ""
    schedule: Schedule | None = None
    max_concurrent_runs: int = Field(default=1, ge=1, le=1000)
    timeout_seconds: int = Field(default=0, ge=0)
    parameters: tuple[SnakeKey, ...] = Field(
        default=(), description="Job-level parameters: pushed down to every task, a person may override them."
    )
    run_by_approvers: bool = Field(
        default=False, description="Where approval is required, the approvers group may start it."
    )
    tasks: tuple[TaskSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _job_parameters_are_not_task_parameters(self) -> Self:
        """Databricks lets a job parameter win over a task parameter of the same name."""
        clashes = sorted({p for task in self.tasks for p in task.parameters} & set(self.parameters))
        if clashes:
            raise ValueError(f"job parameters {clashes} are also task parameters; name each in one place")
        return self

    @model_validator(mode="after")
    def _tasks_form_a_dag(self) -> Self:
        keys = [task.key for task in self.tasks]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"duplicate task keys {duplicates}")
        for task in self.tasks:
            unknown = sorted(set(task.depends_on) - set(keys))
            if unknown:
                raise ValueError(
                    f"task {task.key!r} depends on unknown tasks {unknown}; known: {sorted(keys)}"
                )
        _raise_on_cycle({task.key: task.depends_on for task in self.tasks})
        seconds, chain = longest_chain(self.tasks)
        if self.timeout_seconds and self.timeout_seconds < seconds:
            raise ValueError(
                f"timeout_seconds {self.timeout_seconds} is shorter than the longest task chain "
                f"{' -> '.join(chain)} ({seconds} s, every attempt counted): Databricks would cancel "
                f"the run while its tasks are still within their own timeouts; allowed: >= {seconds}"
            )
        return self


def longest_chain(tasks: tuple[TaskSpec, ...]) -> tuple[int, tuple[str, ...]]:
    """The most seconds a dependency chain of ``tasks`` may run, and its task keys.

    A job's ``timeout_seconds`` covers one run with all its task attempts (Jobs API ``JobSettings``);
    each task may take ``1 + max_retries`` attempts of up to its own ``timeout_seconds``.
    """
    by_key = {task.key: task for task in tasks}
    memo: dict[str, tuple[int, tuple[str, ...]]] = {}

    def chain(key: str) -> tuple[int, tuple[str, ...]]:
        if key not in memo:
            task = by_key[key]
            before = max((chain(upstream) for upstream in task.depends_on), default=(0, ()))
            memo[key] = (before[0] + task.timeout_seconds * (1 + task.max_retries), (*before[1], key))
        return memo[key]

    return max((chain(key) for key in sorted(by_key)), default=(0, ()))


class JobGraph(_Strict):
    schema_version: int = Field(ge=1, le=1, description="Only version 1 is understood.")
    package_name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="python_wheel_task.package_name")
    jobs: dict[SnakeKey, JobSpec] = Field(min_length=1)


class WheelContents(_Strict):
    """What the platform needs from one built wheel."""

    path: Path
    distribution: str
    version: str
    sha256: str
    console_scripts: frozenset[str]
    graph: JobGraph

    @property
    def file_name(self) -> str:
        return self.path.name


def _raise_on_cycle(edges: dict[str, tuple[str, ...]]) -> None:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(key: str, trail: tuple[str, ...]) -> None:
        if key in done:
            return
        if key in visiting:
            raise ValueError(f"task dependencies form a cycle: {' -> '.join((*trail, key))}")
        visiting.add(key)
        for upstream in edges[key]:
            visit(upstream, (*trail, key))
        visiting.discard(key)
        done.add(key)

    for key in sorted(edges):
        visit(key, ())


def resolve_wheel_path(path: Path) -> Path:
    """``path`` is a wheel file or a directory holding exactly one ``iris_mlops-*.whl``."""
    if path.is_dir():
        found = sorted(path.glob(WHEEL_GLOB))
        if not found:
            raise WheelError(f"no {WHEEL_GLOB} in {path}: {MAKE_WHEEL_HINT}")
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise WheelError(f"several wheels in {path} ({names}): {MAKE_WHEEL_HINT} (it keeps only one)")
        return found[0]
    if not path.is_file():
        raise WheelError(f"wheel {path} does not exist: {MAKE_WHEEL_HINT}")
    return path


def read_wheel(path: Path) -> WheelContents:
    """Open the wheel, parse its job graph and entry points, and check that they agree."""
    wheel_path = resolve_wheel_path(path)
    match = _WHEEL_NAME.match(wheel_path.name)
    if match is None:
        raise WheelError(f"{wheel_path.name} is not a valid wheel file name (PEP 427)")
    data = wheel_path.read_bytes()
    try:
        with zipfile.ZipFile(wheel_path) as archive:
            graph_text = _member_text(archive, GRAPH_MEMBER, wheel_path)
            entry_points_text = _member_text(archive, _entry_points_member(archive, wheel_path), wheel_path)
    except zipfile.BadZipFile as error:
        raise WheelError(f"{wheel_path} is not a readable wheel ({error}): {MAKE_WHEEL_HINT}") from error
    try:
        graph = JobGraph.model_validate(tomllib.loads(graph_text))
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        raise WheelError(f"{GRAPH_MEMBER} in {wheel_path.name} is invalid:\n{error}") from error
    contents = WheelContents(
        path=wheel_path,
        distribution=match["distribution"],
        version=match["version"],
        sha256=hashlib.sha256(data).hexdigest(),
        console_scripts=_console_scripts(entry_points_text),
        graph=graph,
    )
    check_entry_points(contents)
    return contents


def check_entry_points(wheel: WheelContents) -> None:
    """Every task's entry point must be a console script of this very wheel."""
    missing = sorted(
        f"{job_key}.{task.key} -> {task.entry_point}"
        for job_key, job in wheel.graph.jobs.items()
        for task in job.tasks
        if task.entry_point not in wheel.console_scripts
    )
    if missing:
        raise WheelError(
            f"{wheel.file_name}: tasks name entry points the wheel does not declare: {missing}; "
            f"declared console scripts: {sorted(wheel.console_scripts)}"
        )


def _entry_points_member(archive: zipfile.ZipFile, wheel_path: Path) -> str:
    names = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    if len(names) != 1:
        raise WheelError(f"{wheel_path.name} has {len(names)} entry_points.txt files, expected one")
    return names[0]


def _member_text(archive: zipfile.ZipFile, member: str, wheel_path: Path) -> str:
    try:
        return archive.read(member).decode("utf-8")
    except KeyError as error:
        raise WheelError(f"{wheel_path.name} does not contain {member}: rebuild with `make wheel`") from error


def _console_scripts(entry_points_text: str) -> frozenset[str]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # entry point names are case-sensitive
    parser.read_string(entry_points_text)
    if not parser.has_section("console_scripts"):
        return frozenset()
    return frozenset(parser["console_scripts"])
