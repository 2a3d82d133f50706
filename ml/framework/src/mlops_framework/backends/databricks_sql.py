"""The SQL the Databricks backend sends: Delta MERGE and DELETE, table properties. Names in it are
validated identifiers (params.py); values are literals quoted here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date


def merge_statement(
    table: str, source_view: str, keys: Sequence[str], pinned: Mapping[str, str] | None = None
) -> str:
    """Delta MERGE upserting a temp view into `table` (names are validated identifiers). `pinned`:
    columns every source row shares, with their SQL literals, put in the condition so Delta prunes
    the target's files that hold none of them (Databricks, "Optimize MERGE": add known constraints
    to the match condition)."""
    literals = [f"target.{column} = {literal}" for column, literal in (pinned or {}).items()]
    on = " AND ".join([*literals, *(f"target.{key} = source.{key}" for key in keys)])
    return (
        f"MERGE INTO {table} AS target USING {source_view} AS source ON {on} "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )


def delete_statement(table: str, column: str, before: date) -> str:
    """Delta DELETE of the rows whose date `column` is before `before` (a validated identifier)."""
    return f"DELETE FROM {table} WHERE {column} < DATE'{before.isoformat()}'"  # noqa: S608 - no user text


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def table_properties_statement(table: str, metadata: Mapping[str, str]) -> str:
    """Provenance of the last write as table properties (keys are snake_case identifiers)."""
    pairs = ", ".join(f"{sql_string(key)} = {sql_string(value)}" for key, value in sorted(metadata.items()))
    return f"ALTER TABLE {table} SET TBLPROPERTIES ({pairs})"
