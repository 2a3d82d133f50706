"""Approve: the gate between evaluation and deployment (thresholds and modes in gate.py).

Its inputs are the scores evaluate recorded on its run and the one human input, the `approval`
tag; its verdict goes on its own run, with the job run, for deploy to act on (decisions.py). The
version's `gate_status` and `gate_mode` tags repeat the verdict for people.
"""

from __future__ import annotations

import mlflow

from ..context import TaskContext
from ..decisions import (
    CHALLENGER_PARAM,
    CHAMPION_PARAM,
    GATE_STATUS_TAG,
    JOB_RUN_PARAM,
    MODEL_PARAM,
    NO_JOB_RUN,
    STALE,
    UNCHANGED,
    champion_param,
    latest_evaluation,
)
from ..errors import GateFailedError, MissingStateError
from ..gate import APPROVAL_TAG, APPROVED, GateDecision, GateInputs, decide, effective_policy
from ..steps.evaluate import require_challenger
from ..vocabulary import CHAMPION

__all__ = ["GATE_MODE_TAG", "GATE_STATUS_TAG", "approve"]

GATE_MODE_TAG = "gate_mode"


def _record(
    ctx: TaskContext, challenger: str, champion: str, status: str, gate_passed: bool = False, **params: str
) -> None:
    """The verdict on approve's run, where deploy of the same job run finds it."""
    with ctx.run():
        mlflow.log_metric("gate_passed", float(gate_passed))
        mlflow.log_params(
            {
                MODEL_PARAM: ctx.model_name,
                CHALLENGER_PARAM: challenger,
                CHAMPION_PARAM: champion,
                JOB_RUN_PARAM: ctx.params.job_run_id or NO_JOB_RUN,
                **params,
            }
        )
        mlflow.set_tag(GATE_STATUS_TAG, status)


def approve(ctx: TaskContext) -> str:
    policy = effective_policy(ctx.params, ctx.project)  # a metric the project has no bound on fails here
    challenger = require_challenger(ctx)
    champion = ctx.alias_version(CHAMPION)
    current = champion_param(champion.version if champion is not None else None)
    if champion is not None and champion.version == challenger.version:
        _record(ctx, challenger.version, current, UNCHANGED)
        return f"nothing new to promote: challenger v{challenger.version} is the champion; no tag changed"
    metric = str(ctx.params.primary_metric)
    evaluation = latest_evaluation(ctx, challenger.version)
    if evaluation is None:
        raise MissingStateError(f"challenger v{challenger.version} has no evaluation: run evaluate first")
    if evaluation.champion_version != current:
        _record(ctx, challenger.version, current, STALE, evaluate_run=evaluation.run_id)
        return (
            f"challenger v{challenger.version} was evaluated against champion {evaluation.champion_version}, "
            f"but the champion is now {current} (deployed meanwhile): nothing decided; the next training "
            "evaluates it against the new champion"
        )
    inputs = GateInputs(
        metric=metric,
        challenger_version=challenger.version,
        challenger_score=evaluation.challenger_score(metric),
        champion_version=champion.version if champion is not None else None,
        champion_score=evaluation.champion_score(metric),
        approval=challenger.tags.get(APPROVAL_TAG),
    )
    decision: GateDecision = decide(policy, inputs)
    judged = {"gate_mode": str(decision.mode), "evaluate_run": evaluation.run_id}
    _record(ctx, challenger.version, current, decision.status, decision.checks_passed, **judged)
    ctx.client.set_model_version_tag(ctx.model_name, challenger.version, GATE_STATUS_TAG, decision.status)
    ctx.client.set_model_version_tag(ctx.model_name, challenger.version, GATE_MODE_TAG, str(decision.mode))
    if decision.blocks:
        rejected = f"challenger v{challenger.version} rejected; champion unchanged"
        raise GateFailedError(f"{rejected}\n{decision.summary()}")
    if decision.awaiting_approval:
        waiting = (
            f"challenger v{challenger.version} awaits approval: an approver sets the tag "
            f"{APPROVAL_TAG}={APPROVED} on it, then runs the release job (docs/ml.md, approval)"
        )
        return f"{decision.summary()}\n{waiting}"
    return decision.summary()
