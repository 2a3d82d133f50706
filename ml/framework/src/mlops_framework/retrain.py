"""Starting the project's training job when drift is found: the same job, so the same gate.

Drift never deploys anything itself: it starts the training job of the job graph, whose
evaluate/approve tasks judge the retrained challenger exactly as on a schedule, human approval
included (uat/prod). The drift summary travels as the job parameter `drift_summary`, which the
train task records on its MLflow run.

- Databricks: the Jobs API `run-now` (databricks-sdk `JobsAPI.run_now`), called by the monitoring
  task with the job's own credentials, i.e. as the job's run_as service principal (which holds
  CAN_MANAGE_RUN on the training job, infra/jobs.py). `idempotency_token` is derived from the model
  and the window: "If a run with the provided token already exists, the request does not create a
  new run but returns the ID of the existing run instead ... Databricks guarantees that exactly one
  run is launched with that idempotency token" (databricks/databricks-sdk-py,
  databricks/sdk/service/jobs.py, JobsAPI.run_now). An active training run also means no new one
  (`JobsAPI.list_runs(active_only=True)`).
  Why not a job trigger: a table-update trigger on the drift table fires on every write of it
  (also "no drift" rows), cannot carry the drift summary as a parameter and gives no per-window
  idempotency; a `run_job_task` would make the monitoring job wait hours for the training.
- Locally: the same runner a person uses (the project's `<name>-mlops run training`) in a child
  process, waited for; the model's training lock (locks.py) refuses a second training while one
  runs.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .errors import BusyError, MissingStateError
from .locks import training_lock
from .vocabulary import TRAINING_JOB

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

TOKEN_MAX_CHARS = 64  # JobsAPI.run_now: "This token must have at most 64 characters."


def idempotency_token(model_name: str, window_id: str) -> str:
    """One token per model and window: the same window never starts two retrains."""
    digest = hashlib.sha256(f"{model_name}|{window_id}".encode()).hexdigest()
    return f"drift-{digest}"[:TOKEN_MAX_CHARS]


@dataclass(frozen=True)
class RetrainRequest:
    model_name: str
    window_id: str
    summary: str  # JSON object: drift.summary()
    scope: tuple[str, ...]  # --key=value naming the project's tables and model for the job

    @property
    def token(self) -> str:
        return idempotency_token(self.model_name, self.window_id)


@dataclass(frozen=True)
class RetrainStart:
    started: bool
    run: str  # Databricks run id, or the local job's exit status
    detail: str


class RetrainTrigger(Protocol):
    def start(self, request: RetrainRequest) -> RetrainStart:
        """Start the training job once for the request's window; say what happened."""


@dataclass(frozen=True)
class LocalTrigger:
    """The local runner in a child process (its own MLflow state and progress display)."""

    home: Path
    home_variable: str
    project_cli: str  # the project's local front door (ProjectSpec.cli)
    extra_arguments: Sequence[str] = ()  # e.g. --regularization for a deliberately different model

    def start(self, request: RetrainRequest) -> RetrainStart:
        try:
            with training_lock(self.home, request.model_name):
                pass  # free now; the child takes it for the whole job
        except BusyError as busy:
            return RetrainStart(False, "", f"no second retrain: {busy}")
        command = [
            str(Path(sys.executable).with_name(self.project_cli)),
            "run",
            TRAINING_JOB,
            *request.scope,
            *self.extra_arguments,
            f"--drift_summary={request.summary}",
        ]
        environ = {**os.environ, self.home_variable: str(self.home)}
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=environ)  # noqa: S603
        status = "succeeded" if done.returncode == 0 else f"failed (exit code {done.returncode})"
        return RetrainStart(True, f"local exit {done.returncode}", f"training job {status}")


@dataclass(frozen=True)
class DatabricksTrigger:
    """`run-now` on the training job, found by its name, as the calling job's principal."""

    workspace: WorkspaceClient
    job_name: str

    def _job_id(self) -> int:
        found = [job.job_id for job in self.workspace.jobs.list(name=self.job_name) if job.job_id is not None]
        if len(found) != 1:
            raise MissingStateError(
                f"expected one job named {self.job_name!r}, found {len(found)}: the platform creates it "
                "(infra/jobs.py); check --training_job_name and CAN_MANAGE_RUN of the job principal on it"
            )
        return found[0]

    def start(self, request: RetrainRequest) -> RetrainStart:
        job_id = self._job_id()
        active = next(iter(self.workspace.jobs.list_runs(job_id=job_id, active_only=True)), None)
        if active is not None:
            return RetrainStart(
                False, str(active.run_id), f"no second retrain: run {active.run_id} is active"
            )
        started = self.workspace.jobs.run_now(
            job_id=job_id, job_parameters={"drift_summary": request.summary}, idempotency_token=request.token
        )
        run_id = str(started.run_id)
        return RetrainStart(True, run_id, f"started run {run_id} of {self.job_name} (job {job_id})")
