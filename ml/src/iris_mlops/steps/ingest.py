"""Ingest: Iris into the feature table, merged on its primary key so reruns never duplicate."""

from __future__ import annotations

from iris_mlops.context import TaskContext
from iris_mlops.data import FEATURES_TABLE, KEY_COLUMN, load_iris_frame


def ingest(ctx: TaskContext) -> str:
    table = ctx.table(FEATURES_TABLE)
    rows = load_iris_frame()
    total = ctx.backend.merge_rows(table, rows, (KEY_COLUMN,), ctx.provenance)
    return f"merged {len(rows)} rows into {table} ({total} rows)"
