"""Approve: the gate between evaluation and deployment (thresholds and modes in gate.py)."""

from __future__ import annotations

import mlflow

from iris_mlops.context import TaskContext
from iris_mlops.errors import GateFailedError, MissingStateError
from iris_mlops.gate import APPROVAL_TAG, APPROVED, GateDecision, GateInputs, decide, effective_policy
from iris_mlops.steps.evaluate import (
    CHAMPION_VERSION_TAG,
    NO_CHAMPION,
    challenger_tag,
    champion_tag,
    require_challenger,
)
from iris_mlops.vocabulary import CHAMPION

GATE_STATUS_TAG = "gate_status"
GATE_MODE_TAG = "gate_mode"


def approve(ctx: TaskContext) -> str:
    policy = effective_policy(ctx.params, ctx.project)  # a metric the project has no bound on fails here
    challenger = require_challenger(ctx)
    champion = ctx.alias_version(CHAMPION)
    metric = str(ctx.params.primary_metric)
    tags = challenger.tags
    evaluated_against = champion.version if champion is not None else NO_CHAMPION
    if challenger_tag(metric) not in tags or tags.get(CHAMPION_VERSION_TAG) != evaluated_against:
        raise MissingStateError(
            f"challenger v{challenger.version} has no evaluation against the current champion "
            f"({evaluated_against}): run evaluate first"
        )
    champion_score = tags.get(champion_tag(metric))
    inputs = GateInputs(
        metric=metric,
        challenger_version=challenger.version,
        challenger_score=float(tags[challenger_tag(metric)]),
        champion_version=champion.version if champion is not None else None,
        champion_score=float(champion_score) if champion_score is not None else None,
        approval=tags.get(APPROVAL_TAG),
    )
    decision: GateDecision = decide(policy, inputs)
    with ctx.run():
        mlflow.log_params({"gate_mode": str(decision.mode), "challenger_version": challenger.version})
        mlflow.log_metric("gate_passed", float(decision.checks_passed))
        mlflow.set_tag(GATE_STATUS_TAG, decision.status)
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
