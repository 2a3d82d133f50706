"""Ingest: the project's data set into the feature table, merged on its key so reruns never duplicate."""

from __future__ import annotations

from ..context import TaskContext


def ingest(ctx: TaskContext) -> str:
    project = ctx.project
    table = ctx.table(project.tables.features)
    rows = project.load_frame()
    total = ctx.backend.merge_rows(table, rows, (project.key_column,), ctx.provenance)
    return f"merged {len(rows)} rows into {table} ({total} rows)"
