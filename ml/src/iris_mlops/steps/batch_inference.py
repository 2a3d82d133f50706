"""Batch inference: the champion scores the feature table into the inference table."""

from __future__ import annotations

import mlflow

from iris_mlops.context import TaskContext
from iris_mlops.errors import MissingStateError
from iris_mlops.vocabulary import CHAMPION


def batch_inference(ctx: TaskContext) -> str:
    champion = ctx.alias_version(CHAMPION)
    if champion is None:
        raise MissingStateError(f"{ctx.model_name} has no {CHAMPION!r} alias yet: run the training job first")
    tables = ctx.project.tables
    target = ctx.table(tables.predictions)
    # The backend loads the verified local copy (model_trust.py), never the store's files directly.
    with ctx.run(), ctx.verified_model(champion, CHAMPION) as model_folder:
        scored = ctx.backend.score_table(
            str(model_folder),
            champion.version,
            ctx.table(tables.features),
            target,
            ctx.provenance,
            project=ctx.project,
        )
        mlflow.log_params({"model_version": champion.version, "target_table": target})
        mlflow.log_metric("rows_scored", scored)
    return f"scored {scored} rows with {ctx.model_name} v{champion.version} into {target}"
