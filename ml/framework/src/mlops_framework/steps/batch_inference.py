"""Batch inference: the champion scores the feature rows it has not scored yet into the inference table.

Incremental (incremental.py): a run scores the feature rows whose `updated_at` is after where the
last run with the same champion stopped, so a daily run costs the day's new and changed rows, not
the history. A new champion scores every row; so does the job parameter `rescore=all`. A rerun the
same day finds nothing new and changes nothing; a run that crashed before recording its watermark is
redone whole by the next, which the keys below make idempotent.

Each run's rows are keyed by (key, model version, UTC day): each day's rows append to the history the
monitors read (the drift window, the quality monitor's daily granularity on `scored_at`), and a rerun
the same day replaces that day's rows. The run then deletes the days older than the project's
`predictions_retention_days`, which bounds the table at (rows scored a day) x that many days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import mlflow

from ..context import TaskContext
from ..errors import MissingStateError
from ..incremental import WATERMARK_KEYS, last_watermark, read_watermarks, watermark_row
from ..scoring import scoring_day
from ..vocabulary import CHAMPION, SCORED_ON_COLUMN, Rescore


def batch_inference(ctx: TaskContext, now: datetime | None = None) -> str:
    champion = ctx.alias_version(CHAMPION)
    if champion is None:
        raise MissingStateError(f"{ctx.model_name} has no {CHAMPION!r} alias yet: run the training job first")
    tables = ctx.project.tables
    target = ctx.table(tables.predictions)
    watermarks = ctx.table(tables.watermarks)
    scored_at = now or ctx.now()
    keep_from = scoring_day(scored_at) - timedelta(days=ctx.project.predictions_retention_days - 1)
    since = None
    if ctx.params.rescore is Rescore.CHANGED:
        since = last_watermark(read_watermarks(ctx.backend.read_table, watermarks), champion.version)
    # The backend loads the verified local copy (model_trust.py), never the store's files directly.
    with ctx.run(), ctx.verified_model(champion, CHAMPION) as model_folder:
        batch = ctx.backend.score_changed(
            str(model_folder),
            champion.version,
            ctx.table(tables.features),
            target,
            ctx.provenance,
            project=ctx.project,
            scored_at=scored_at,
            since=since,
        )
        if batch.through is not None:
            row = watermark_row(champion.version, batch, scored_at)
            ctx.backend.merge_rows(watermarks, row, WATERMARK_KEYS, ctx.provenance)
        pruned = ctx.backend.delete_before(target, SCORED_ON_COLUMN, keep_from, ctx.provenance)
        mlflow.log_params(
            {"model_version": champion.version, "target_table": target, "rescore": ctx.params.rescore}
        )
        mlflow.log_metrics({"rows_scored": batch.rows, "rows_pruned": pruned})
    which = "every row" if since is None else f"rows changed after {since:%Y-%m-%d %H:%M:%S}Z"
    kept = f"; deleted {pruned} rows scored before {keep_from}" if pruned else ""
    return f"scored {batch.rows} rows ({which}) with {ctx.model_name} v{champion.version} into {target}{kept}"
