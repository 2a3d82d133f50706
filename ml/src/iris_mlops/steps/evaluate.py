"""Evaluate: score challenger and champion on the same held-out rows; record on the challenger.

The scores land in two places: MLflow metrics linked to the challenger's logged model (what the
UI shows on the model version), and tags on the challenger's version (what the gate reads).
"""

from __future__ import annotations

import mlflow

from iris_mlops.context import RegisteredVersion, TaskContext
from iris_mlops.errors import MissingStateError
from iris_mlops.metrics import score_all
from iris_mlops.vocabulary import CHALLENGER, CHAMPION

# Unity Catalog refuses `.`, `,`, `-`, `=`, `/` and `:` in tag keys (docs: "Apply tags to Unity
# Catalog securable objects", constraints), so every key the steps set is snake_case.
EVAL_TAG_PREFIX = "eval_"
CHAMPION_VERSION_TAG = "eval_champion_version"
NO_CHAMPION = "none"


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

    def scores(version: RegisteredVersion, role: str) -> dict[str, float]:
        predicted = ctx.load_model(version, role).predict(project.features_of(holdout))
        return score_all(truth, list(predicted), project.kind)

    challenger_scores = scores(challenger, CHALLENGER)
    champion_scores = None
    if champion is not None:
        same = champion.version == challenger.version
        champion_scores = challenger_scores if same else scores(champion, CHAMPION)

    with ctx.run():
        holdout_metrics = {f"holdout_{k}": v for k, v in challenger_scores.items()}
        mlflow.log_metrics(holdout_metrics, model_id=challenger.model_id)
        if champion is not None and champion_scores is not None:
            mlflow.log_metrics(
                {f"champion_holdout_{k}": v for k, v in champion_scores.items()}, model_id=champion.model_id
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
