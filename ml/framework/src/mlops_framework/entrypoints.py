"""Console scripts, one per job task (job_graph.toml names them), for every project.

A project's console script `<project>-<task>` runs the generic task `<task>` with the project's spec
(project.py): Iris's are the functions at the bottom, a further project's are its `ProjectScripts`.
Each parses its `--key=value` parameters, builds the context on the selected backend and calls
its step. The steps (mlflow, scikit-learn: seconds of imports) are imported only after the
parameters parsed, so a bad parameter fails at once. Success returns None; a known failure logs
one clear message and exits non-zero (SystemExit, so Databricks marks the task failed too).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from .errors import IrisMlopsError, ParameterError
from .logs import configure_logging
from .params import JOB_RUN_PARAMETER, GateMode, TaskParameters, parse_parameters, split_argument
from .vocabulary import PRODUCTION_LIKE, Environment

if TYPE_CHECKING:
    from .context import TaskContext
    from .project import ProjectSpec

# What a person may override when starting a job: Databricks pushes job parameters down to every
# task of the job (job_graph.toml, top), so every task accepts them, used or not.
JOB_PARAMETERS = ("margin", "drift_summary", "rescore")
_TABLES = ("env", "catalog", "schema", *JOB_PARAMETERS)
_MODEL = (*_TABLES, "model_name")
# Tasks that log an MLflow run accept the experiment the platform created for them.
_TRACKED = (*_MODEL, "experiment_name")
# On Databricks these name real Unity Catalog objects: a default could write into another
# environment's catalog, so they must be passed.
REQUIRED_ON_DATABRICKS = ("env", "catalog", "schema")


@dataclass(frozen=True)
class TaskEntry:
    step_name: str  # "<module under steps/>:<function>"
    accepted: tuple[str, ...]  # parameters this task accepts; job_graph.toml passes a subset
    # Moves the model's challenger/champion aliases: runs under the model's training lock (locks.py).
    locks_model: bool = False
    # Beyond REQUIRED_ON_DATABRICKS: what this task needs there (the platform's jobs pass it).
    required_on_databricks: tuple[str, ...] = ()

    @property
    def step(self) -> Callable[[TaskContext], str]:
        module, _, function = self.step_name.partition(":")
        step = getattr(importlib.import_module(f".steps.{module}", __package__), function)
        return cast("Callable[[TaskContext], str]", step)


# Keyed by task; a project's entry point for it is `<project>-<task>` (ProjectSpec.entry_point).
TASKS: dict[str, TaskEntry] = {
    "ingest": TaskEntry("ingest:ingest", _TABLES),
    # `regularization` is a hyperparameter for ad hoc runs; the platform's job graph leaves it out.
    "train": TaskEntry("train:train", (*_TRACKED, "regularization"), locks_model=True),
    "evaluate": TaskEntry("evaluate:evaluate", (*_TRACKED, "primary_metric"), locks_model=True),
    # The job run ties deploy to the verdict approve recorded in the same run (decisions.py).
    "approve": TaskEntry(
        "approve:approve",
        (*_TRACKED, "primary_metric", "require_approval", "gate_mode", JOB_RUN_PARAMETER),
        locks_model=True,
        required_on_databricks=(JOB_RUN_PARAMETER,),
    ),
    "deploy": TaskEntry(
        "deploy:deploy",
        (*_TRACKED, "endpoint_name", JOB_RUN_PARAMETER),
        locks_model=True,
        required_on_databricks=(JOB_RUN_PARAMETER,),
    ),
    "batch-inference": TaskEntry("batch_inference:batch_inference", _TRACKED),
    # Reads tables and the champion, starts the training job on drift: takes no lock itself.
    "monitor": TaskEntry(
        "monitor:monitor",
        (*_TRACKED, "drift_psi_threshold", "drift_p_value", "drift_min_rows", "training_job_name"),
    ),
}


def task_entry(entry_point: str, project: ProjectSpec) -> TaskEntry:
    """The task behind one of the project's entry points; another project's is a ParameterError."""
    task = entry_point.removeprefix(f"{project.name}-")
    if task == entry_point or task not in TASKS:
        allowed = ", ".join(project.entry_point(name) for name in TASKS)
        raise ParameterError(f"{entry_point!r} is not an entry point of {project.name}; allowed: {allowed}")
    return TASKS[task]


def require_parameters(arguments: Sequence[str], required: Sequence[str], program: str) -> None:
    given = {split_argument(argument)[0] for argument in arguments}
    missing = [name for name in required if name not in given]
    if missing:
        raise ParameterError(
            f"{program}: on Databricks --{', --'.join(missing)} must be given (no defaults there: "
            "they name Unity Catalog objects); the platform's jobs pass them"
        )


def refuse_weakened_gate(params: TaskParameters, environment: Environment, program: str) -> None:
    """On Databricks in uat/prod the gate is enforced and a human approves, however the values
    arrive: task parameters, job parameters (pushed down) or a run-now's `python_named_params`,
    which replace a wheel task's named parameters and reach it as these same arguments. A missing
    `require_approval` is false, so it is refused too. The platform's settings require the same
    (stacks/rules.py, model.requireApproval). `environment` is the catalog's
    (catalog_environment.py), which those parameters cannot change."""
    if environment not in PRODUCTION_LIKE:
        return
    problems = []
    if params.gate_mode is not GateMode.ENFORCED:
        problems.append(f"--gate_mode={params.gate_mode} (allowed there: {GateMode.ENFORCED})")
    if not params.require_approval:
        problems.append("--require_approval=false (allowed there: true)")
    if problems:
        raise ParameterError(
            f"{program}: refused in {environment} on Databricks: {'; '.join(problems)}: a new champion "
            "there passes the enforced gate and a human approval (docs/ml.md, the gate)"
        )


def run_task(entry_point: str, argv: Sequence[str] | None, project: ProjectSpec) -> None:
    logger = configure_logging()
    entry = task_entry(entry_point, project)
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        parsed = parse_parameters(arguments, entry.accepted, entry_point, defaults=project.defaults())
        params = project.checked(parsed)
        from .backends import detect_backend_name, select_backend  # noqa: PLC0415 - after parsing

        if detect_backend_name(os.environ) == "databricks":
            require_parameters(
                arguments, (*REQUIRED_ON_DATABRICKS, *entry.required_on_databricks), entry_point
            )
            from .catalog_environment import verified_environment  # noqa: PLC0415

            environment = verified_environment(params, entry_point)
            if "require_approval" in entry.accepted:  # the tasks that decide
                refuse_weakened_gate(params, environment, entry_point)
        from .context import TaskContext  # noqa: PLC0415

        task = entry_point.removeprefix(f"{project.name}-")
        context = TaskContext.create(task, params, select_backend(), project)
        with context.training_lock() if entry.locks_model else nullcontext():
            logger.info("%s: %s", entry_point, entry.step(context))
    except IrisMlopsError as error:
        logger.error("%s failed: %s", entry_point, error)
        raise SystemExit(error.exit_code) from error
