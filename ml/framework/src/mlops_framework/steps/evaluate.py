"""Evaluate: score challenger and champion on the same held-out rows.

The scores are recorded on this task's MLflow run, with the versions compared: that is what the
gate reads (decisions.py; only the job principal writes runs in the experiment). The metrics are
also linked to the challenger's logged model, and copied into `eval_*` tags on its version, for
people: the gate never reads those tags. A challenger that is the champion is not evaluated.
"""

from __future__ import annotations

import mlflow

from ..context import RegisteredVersion, TaskContext
from ..decisions import (
    CHALLENGER_METRIC,
    CHALLENGER_PARAM,
    CHAMPION_METRIC,
    CHAMPION_PARAM,
    MODEL_PARAM,
    NO_CHAMPION,
    champion_param,
)
from ..errors import MissingStateError
from ..metrics import score_all
from ..vocabulary import CHALLENGER, CHAMPION

# Unity Catalog refuses `.`, `,`, `-`, `=`, `/` and `:` in tag keys (docs: "Apply tags to Unity
# Catalog securable objects", constraints), so every key the steps set is snake_case.
EVAL_TAG_PREFIX = "eval_"
CHAMPION_VERSION_TAG = "eval_champion_version"


def challenger_tag(metric: str) -> str:
    return f"{EVAL_TAG_PREFIX}{metric}"


def champion_tag(metric: str) -> str:
    return f"{EVAL_TAG_PREFIX}champion_{metric}"


def require_challenger(ctx: TaskContext) -> RegisteredVersion:
    challenger = ctx.alias_version(CHALLENGER)
    if challenger is None:
        raise MissingStateError(f"{ctx.model_name} has no {CHALLENGER!r} alias: run train first")
    return challenger


def evaluate(ctx: TaskContext) -> str:
    project = ctx.project
    _, holdout = project.split_holdout(ctx.backend.read_table(ctx.table(project.tables.features)))
    truth = project.labels_of(holdout).tolist()
    challenger = require_challenger(ctx)
    champion = ctx.alias_version(CHAMPION)
    if champion is not None and champion.version == challenger.version:
        # The weekly training on unchanged data keeps the champion as challenger: nothing to judge,
        # and no tag of the champion changes.
        return f"nothing new to evaluate: challenger v{challenger.version} is the champion"

    def scores(version: RegisteredVersion, role: str) -> dict[str, float]:
        predicted = ctx.load_model(version, role).predict(project.features_of(holdout))
        return score_all(truth, list(predicted), project.kind)

    challenger_scores = scores(challenger, CHALLENGER)
    champion_scores = scores(champion, CHAMPION) if champion is not None else None

    with ctx.run():
        compared = champion_param(champion.version if champion is not None else None)
        mlflow.log_params(
            {MODEL_PARAM: ctx.model_name, CHALLENGER_PARAM: challenger.version, CHAMPION_PARAM: compared}
        )
        holdout_metrics = {CHALLENGER_METRIC.format(k): v for k, v in challenger_scores.items()}
        mlflow.log_metrics(holdout_metrics, model_id=challenger.model_id)
        if champion is not None and champion_scores is not None:
            mlflow.log_metrics(
                {CHAMPION_METRIC.format(k): v for k, v in champion_scores.items()}, model_id=champion.model_id
            )
    tags = {challenger_tag(k): repr(v) for k, v in challenger_scores.items()}
    tags[CHAMPION_VERSION_TAG] = champion.version if champion is not None else NO_CHAMPION
    tags.update({champion_tag(k): repr(v) for k, v in (champion_scores or {}).items()})
    for key, value in tags.items():
        ctx.client.set_model_version_tag(ctx.model_name, challenger.version, key, str(value))

    metric = str(ctx.params.primary_metric)
    summary = f"challenger v{challenger.version} {metric}={challenger_scores[metric]:.4f}"
    if champion is not None and champion_scores is not None:
        summary += f", champion v{champion.version} {metric}={champion_scores[metric]:.4f}"
    return summary + f" on {len(holdout)} held-out rows"
