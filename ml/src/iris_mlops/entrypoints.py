"""Console scripts, one per job task (job_graph.toml names them).

Each parses its `--key=value` parameters, builds the context on the selected backend and calls
its step. Success returns None; a known failure logs one clear message and exits non-zero
(SystemExit, so Databricks marks the task failed too).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from iris_mlops.backends import select_backend
from iris_mlops.context import TaskContext
from iris_mlops.errors import IrisMlopsError
from iris_mlops.logs import configure_logging
from iris_mlops.params import parse_parameters
from iris_mlops.steps.approve import approve
from iris_mlops.steps.batch_inference import batch_inference
from iris_mlops.steps.deploy import deploy
from iris_mlops.steps.evaluate import evaluate
from iris_mlops.steps.ingest import ingest
from iris_mlops.steps.train import train

_TABLES = ("env", "catalog", "schema")
_MODEL = (*_TABLES, "model_name")


@dataclass(frozen=True)
class TaskEntry:
    step: Callable[[TaskContext], str]
    accepted: tuple[str, ...]  # parameters this task accepts; job_graph.toml passes a subset


TASKS: dict[str, TaskEntry] = {
    "iris-ingest": TaskEntry(ingest, _TABLES),
    "iris-train": TaskEntry(train, _MODEL),
    "iris-evaluate": TaskEntry(evaluate, (*_MODEL, "primary_metric")),
    "iris-approve": TaskEntry(
        approve, (*_MODEL, "primary_metric", "margin", "require_approval", "gate_mode")
    ),
    "iris-deploy": TaskEntry(deploy, (*_MODEL, "endpoint_name")),
    "iris-batch-inference": TaskEntry(batch_inference, _MODEL),
}


def run_task(entry_point: str, argv: Sequence[str] | None = None) -> None:
    logger = configure_logging()
    entry = TASKS[entry_point]
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        params = parse_parameters(arguments, entry.accepted, program=entry_point)
        context = TaskContext.create(entry_point.removeprefix("iris-"), params, select_backend())
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
