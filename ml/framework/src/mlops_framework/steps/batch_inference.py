"""Batch inference: the champion scores the feature table into the inference table.

Each run is one scoring run of its UTC day: its rows are keyed by (key, model version, day), so
each day's run appends to the history the monitors read (the drift window, the quality monitor's
daily granularity on `scored_at`), and a rerun the same day replaces that day's rows. The run then
deletes the days older than the project's `predictions_retention_days`, which bounds the table at
(rows scored a day) x that many days, times the versions that scored the same day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import mlflow

from ..context import TaskContext
from ..errors import MissingStateError
from ..scoring import scoring_day
from ..vocabulary import CHAMPION, SCORED_ON_COLUMN


def batch_inference(ctx: TaskContext, now: datetime | None = None) -> str:
    champion = ctx.alias_version(CHAMPION)
    if champion is None:
        raise MissingStateError(f"{ctx.model_name} has no {CHAMPION!r} alias yet: run the training job first")
    tables = ctx.project.tables
    target = ctx.table(tables.predictions)
    scored_at = now or ctx.now()
    keep_from = scoring_day(scored_at) - timedelta(days=ctx.project.predictions_retention_days - 1)
    # The backend loads the verified local copy (model_trust.py), never the store's files directly.
    with ctx.run(), ctx.verified_model(champion, CHAMPION) as model_folder:
        scored = ctx.backend.score_table(
            str(model_folder),
            champion.version,
            ctx.table(tables.features),
            target,
            ctx.provenance,
            project=ctx.project,
            scored_at=scored_at,
        )
        pruned = ctx.backend.delete_before(target, SCORED_ON_COLUMN, keep_from, ctx.provenance)
        mlflow.log_params({"model_version": champion.version, "target_table": target})
        mlflow.log_metrics({"rows_scored": scored, "rows_pruned": pruned})
    kept = f"; deleted {pruned} rows scored before {keep_from}" if pruned else ""
    return f"scored {scored} rows with {ctx.model_name} v{champion.version} into {target}{kept}"
