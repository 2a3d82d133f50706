"""Ingest: the project's data set into the feature table, merged on its key so reruns never duplicate.

Each row carries `updated_at`: when it was first ingested or last changed (a row that comes back
with the same values keeps its stamp), the watermark incremental batch inference reads by
(incremental.py).
"""

from __future__ import annotations

from ..context import TaskContext
from ..errors import MissingStateError
from ..incremental import stamp_updates


def ingest(ctx: TaskContext) -> str:
    project = ctx.project
    table = ctx.table(project.tables.features)
    try:
        existing = ctx.backend.read_table(table)
    except MissingStateError:
        existing = None
    rows = stamp_updates(project.load_frame(), existing, project.key_column, ctx.now())
    total = ctx.backend.merge_rows(table, rows, (project.key_column,), ctx.provenance)
    return f"merged {len(rows)} rows into {table} ({total} rows)"
