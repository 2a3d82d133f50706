"""Console scripts, one per job task (job_graph.toml names them).

Each parses its `--key=value` parameters, builds the context on the selected backend and calls
its step. The steps (mlflow, scikit-learn: seconds of imports) are imported only after the
parameters parsed, so a bad parameter fails at once. Success returns None; a known failure logs
one clear message and exits non-zero (SystemExit, so Databricks marks the task failed too).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from iris_mlops.errors import IrisMlopsError
from iris_mlops.logs import configure_logging
from iris_mlops.params import parse_parameters

if TYPE_CHECKING:
    from iris_mlops.context import TaskContext

_TABLES = ("env", "catalog", "schema")
_MODEL = (*_TABLES, "model_name")
# Tasks that log an MLflow run accept the experiment the platform created for them.
_TRACKED = (*_MODEL, "experiment_name")


@dataclass(frozen=True)
class TaskEntry:
    step_name: str  # "<module under iris_mlops.steps>:<function>"
    accepted: tuple[str, ...]  # parameters this task accepts; job_graph.toml passes a subset
    # Moves the model's challenger/champion aliases: runs under the model's training lock (locks.py).
    locks_model: bool = False

    @property
    def step(self) -> Callable[[TaskContext], str]:
        module, _, function = self.step_name.partition(":")
        step = getattr(importlib.import_module(f"iris_mlops.steps.{module}"), function)
        return cast("Callable[[TaskContext], str]", step)


TASKS: dict[str, TaskEntry] = {
    "iris-ingest": TaskEntry("ingest:ingest", _TABLES),
    # `regularization` is a hyperparameter for ad hoc runs; the platform's job graph leaves it out.
    "iris-train": TaskEntry("train:train", (*_TRACKED, "regularization"), locks_model=True),
    "iris-evaluate": TaskEntry("evaluate:evaluate", (*_TRACKED, "primary_metric"), locks_model=True),
    "iris-approve": TaskEntry(
        "approve:approve",
        (*_TRACKED, "primary_metric", "margin", "require_approval", "gate_mode"),
        locks_model=True,
    ),
    "iris-deploy": TaskEntry("deploy:deploy", (*_TRACKED, "endpoint_name"), locks_model=True),
    "iris-batch-inference": TaskEntry("batch_inference:batch_inference", _TRACKED),
}


def run_task(entry_point: str, argv: Sequence[str] | None = None) -> None:
    logger = configure_logging()
    entry = TASKS[entry_point]
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        params = parse_parameters(arguments, entry.accepted, program=entry_point)
        from iris_mlops.backends import select_backend  # noqa: PLC0415 - after parsing, see above
        from iris_mlops.context import TaskContext  # noqa: PLC0415

        context = TaskContext.create(entry_point.removeprefix("iris-"), params, select_backend())
        with context.training_lock() if entry.locks_model else nullcontext():
            logger.info("%s: %s", entry_point, entry.step(context))
    except IrisMlopsError as error:
        logger.error("%s failed: %s", entry_point, error)
        raise SystemExit(error.exit_code) from error


def ingest_main(argv: Sequence[str] | None = None) -> None:
    run_task("iris-ingest", argv)


def train_main(argv: Sequence[str] | None = None) -> None:
    run_task("iris-train", argv)


def evaluate_main(argv: Sequence[str] | None = None) -> None:
    run_task("iris-evaluate", argv)


def approve_main(argv: Sequence[str] | None = None) -> None:
    run_task("iris-approve", argv)


def deploy_main(argv: Sequence[str] | None = None) -> None:
    run_task("iris-deploy", argv)


def batch_inference_main(argv: Sequence[str] | None = None) -> None:
    run_task("iris-batch-inference", argv)
