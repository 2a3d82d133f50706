"""Where the gate's inputs and verdicts are kept: the MLflow runs of evaluate and approve.

On Unity Catalog, APPLY TAG covers every tag of a model version, so an approver could rewrite any
score kept in a tag. Runs in the platform's experiment are written only by the job principal
(uat/prod: approvers hold no permission on it, developers CAN_READ; infra/access.py). So:

- evaluate records the challenger and champion it compared, and their held-out scores, on its run;
- approve reads the scores from the latest such run and records its verdict on its own run, with
  the job run it belongs to (the platform passes `{{job.run_id}}`: Databricks "Dynamic value
  references"; a wheel task cannot set task values, which only Python notebooks can);
- deploy deploys the version that the verdict of its own job run names, never whatever the
  `challenger` alias points at by then (a training may have moved it meanwhile).

A version's `eval_*` and `gate_*` tags are written for people and never read back; the one human
input is the `approval` tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlflow.entities import Run

from .context import TaskContext
from .params import JOB_RUN_PARAMETER

MODEL_PARAM = "model_name"
CHALLENGER_PARAM = "challenger_version"
CHAMPION_PARAM = "champion_version"
JOB_RUN_PARAM = JOB_RUN_PARAMETER
GATE_STATUS_TAG = "gate_status"  # the verdict, a tag of approve's run (and of the version, for people)
NO_CHAMPION = "none"
NO_JOB_RUN = "none"
CHALLENGER_METRIC = "holdout_{}"
CHAMPION_METRIC = "champion_holdout_{}"
# Verdicts beside the gate's own (gate.GateDecision.status): nothing was judged.
UNCHANGED = "unchanged"  # the challenger is the champion: nothing new to promote
STALE = "stale"  # the champion moved since the challenger was evaluated


@dataclass(frozen=True)
class Evaluation:
    run_id: str
    challenger_version: str
    champion_version: str  # NO_CHAMPION when there was none
    metrics: Mapping[str, float]

    def challenger_score(self, metric: str) -> float:
        return self.metrics[CHALLENGER_METRIC.format(metric)]

    def champion_score(self, metric: str) -> float | None:
        return self.metrics.get(CHAMPION_METRIC.format(metric))


@dataclass(frozen=True)
class Verdict:
    run_id: str
    challenger_version: str
    champion_version: str
    status: str


def champion_param(version: str | None) -> str:
    return NO_CHAMPION if version is None else version


def latest_run(ctx: TaskContext, task: str, **params: str) -> Run | None:
    """The newest finished run of `task` for this model with these parameters, in the experiment."""
    clauses = [f"tags.{ctx.project.tags.task} = '{task}'", "attributes.status = 'FINISHED'"]
    clauses += [f"params.{key} = '{value}'" for key, value in {MODEL_PARAM: ctx.model_name, **params}.items()]
    found = ctx.client.search_runs(
        [ctx.experiment_id()], " and ".join(clauses), order_by=["attributes.start_time DESC"], max_results=1
    )
    return found[0] if found else None


def latest_evaluation(ctx: TaskContext, challenger_version: str) -> Evaluation | None:
    run = latest_run(ctx, "evaluate", **{CHALLENGER_PARAM: challenger_version})
    if run is None:
        return None
    params = run.data.params
    return Evaluation(run.info.run_id, params[CHALLENGER_PARAM], params[CHAMPION_PARAM], run.data.metrics)


def job_verdict(ctx: TaskContext, challenger_version: str | None) -> Verdict | None:
    """Approve's verdict in this job run (`job_run_id`); without one (a task run on its own
    outside Databricks), the latest verdict on the current challenger."""
    job_run = ctx.params.job_run_id
    if job_run is not None:
        run = latest_run(ctx, "approve", **{JOB_RUN_PARAM: job_run})
    elif challenger_version is not None:
        run = latest_run(ctx, "approve", **{CHALLENGER_PARAM: challenger_version})
    else:
        return None
    if run is None:
        return None
    params = run.data.params
    return Verdict(
        run.info.run_id, params[CHALLENGER_PARAM], params[CHAMPION_PARAM], run.data.tags[GATE_STATUS_TAG]
    )
