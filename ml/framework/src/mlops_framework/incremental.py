"""Incremental batch inference: which feature rows a run scores, and how far the last run got.

The mechanism is a watermark column (docs/ml.md, "Incremental batch inference", says why it was
chosen over Delta's change data feed and an anti-join on the predictions' keys):

- the feature table carries `updated_at` (vocabulary.UPDATED_AT_COLUMN): ingest stamps a row when it
  is new or any of its values changed, and keeps the stamp of a row that came back unchanged;
- each batch run reads only the rows stamped in (since, through]: `since` is where the last run
  with the same champion stopped, `through` the newest stamp in the table when this run starts.
  The filter is pushed into the read (deltalake prunes files by their statistics, Spark by its
  pushed filters), so a daily run reads what changed, not the history;
- the run records (model version, through) in the project's watermarks table after its rows are
  merged. A crash before that leaves the watermark where it was: the next run scores those rows
  again, which the predictions' keys (key, version, day) make idempotent;
- a new champion (the last run's version is another one) has no watermark: it scores every row.
  So does `rescore=all`.

The stamps order the writes only if one writer stamps the feature table at a time (the training
job's ingest, `max_concurrent_runs = 1`): a second writer stamping an earlier time after a batch
read would be missed until that row changes again or `rescore=all` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd

from .errors import MissingStateError, StateError
from .vocabulary import SCORED_AT_COLUMN, UPDATED_AT_COLUMN, VERSION_COLUMN

THROUGH_COLUMN = "scored_through"
THROUGH_MICROS = "scored_through_us"  # the same instant, microseconds since the epoch (what is read)
SCORED_AT_MICROS = "scored_at_us"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ROWS_COLUMN = "rows_scored"
WATERMARK_KEYS = (VERSION_COLUMN,)


@dataclass(frozen=True)
class ScoredBatch:
    """What one incremental scoring run did: how many rows it scored, and the newest `updated_at`
    among them (None: nothing to score)."""

    rows: int
    through: datetime | None


def stamp_updates(
    incoming: pd.DataFrame, existing: pd.DataFrame | None, key: str, now: datetime
) -> pd.DataFrame:
    """`incoming` with `updated_at`: the existing stamp for a row whose values are all unchanged,
    `now` for a new or changed row."""
    stamp = pd.Timestamp(now).tz_convert("UTC")
    rows = incoming.drop(columns=[UPDATED_AT_COLUMN], errors="ignore").reset_index(drop=True)
    if existing is None or existing.empty or UPDATED_AT_COLUMN not in existing.columns:
        return rows.assign(**{UPDATED_AT_COLUMN: stamp})
    previous = existing.loc[:, [*rows.columns, UPDATED_AT_COLUMN]]
    # An unchanged row matches its previous version on every column (the key included).
    matched = rows.merge(previous, on=list(rows.columns), how="left", validate="one_to_one")
    kept = pd.to_datetime(matched[UPDATED_AT_COLUMN], utc=True)
    return rows.assign(**{UPDATED_AT_COLUMN: kept.fillna(stamp).to_numpy()}).astype(
        {UPDATED_AT_COLUMN: "datetime64[us, UTC]"}
    )


def require_watermark_column(table: str, columns: list[str]) -> None:
    if UPDATED_AT_COLUMN not in columns:
        raise StateError(
            f"table {table} has no {UPDATED_AT_COLUMN} column, which incremental batch inference reads "
            "(ingest writes it): run the training job's ingest once, or score it with rescore=all"
        )


def read_watermarks(read: Callable[[str], pd.DataFrame], table: str) -> pd.DataFrame | None:
    """The watermarks table through `read` (Backend.read_table); None when there is none yet."""
    try:
        return read(table)
    except MissingStateError:
        return None


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime, exactly."""
    return (moment.astimezone(UTC) - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


def last_watermark(watermarks: pd.DataFrame | None, champion_version: str) -> datetime | None:
    """Where the last run stopped, if that run scored with this champion; None: score every row.
    Read from the microsecond columns: Spark's `toPandas` returns timestamps without their zone
    (in the session's), so the timestamp columns are for people only."""
    if watermarks is None or watermarks.empty:
        return None
    last = watermarks.sort_values(SCORED_AT_MICROS).iloc[-1]
    if str(last[VERSION_COLUMN]) != str(champion_version):
        return None
    return from_micros(last[THROUGH_MICROS])


def watermark_row(champion_version: str, batch: ScoredBatch, scored_at: datetime) -> pd.DataFrame:
    if batch.through is None:
        raise ValueError("a run that scored nothing has no watermark to record")
    return pd.DataFrame(
        {
            VERSION_COLUMN: [str(champion_version)],
            THROUGH_COLUMN: [pd.Timestamp(batch.through).tz_convert("UTC")],
            THROUGH_MICROS: [micros(batch.through)],
            SCORED_AT_COLUMN: [pd.Timestamp(scored_at).tz_convert("UTC")],
            SCORED_AT_MICROS: [micros(scored_at)],
            ROWS_COLUMN: [batch.rows],
        }
    ).astype(
        {
            THROUGH_COLUMN: "datetime64[us, UTC]",
            SCORED_AT_COLUMN: "datetime64[us, UTC]",
            THROUGH_MICROS: "int64",
            SCORED_AT_MICROS: "int64",
            ROWS_COLUMN: "int64",
        }
    )
