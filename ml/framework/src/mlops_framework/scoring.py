"""Rows of the inference table, shared by the local and the Databricks batch scorer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from .vocabulary import PREDICTION_COLUMN, SCORED_AT_COLUMN, SCORED_ON_COLUMN, VERSION_COLUMN

if TYPE_CHECKING:
    import pandas as pd

    from .project import ProjectSpec


def prediction_rows(
    project: ProjectSpec,
    samples: pd.DataFrame,
    predictions: Sequence[object],
    model_version: str,
    scored_at: datetime | None = None,
) -> pd.DataFrame:
    """The project's key and features, its prediction (a class label as text, or a number), the
    version that scored it, when and on which UTC day; `project.prediction_keys` is the table's
    primary key."""
    import pandas as pd  # noqa: PLC0415 - see the imports

    rows = samples.loc[:, [project.key_column, *project.feature_columns]].reset_index(drop=True)
    predicted = pd.Series(list(predictions), dtype=project.prediction_dtype)
    rows[PREDICTION_COLUMN] = predicted.astype(object) if project.prediction_dtype == "string" else predicted
    rows[VERSION_COLUMN] = str(model_version)
    when = pd.Timestamp(scored_at or datetime.now(UTC)).tz_convert("UTC")
    rows[SCORED_AT_COLUMN] = when
    rows[SCORED_ON_COLUMN] = scoring_day(when.to_pydatetime())
    return rows


def scoring_day(scored_at: datetime) -> date:
    """The UTC day a scoring run belongs to (the monitor's window is the same UTC day)."""
    return scored_at.astimezone(UTC).date()


def run_values(rows: pd.DataFrame) -> dict[str, object]:
    """What every row of one scoring run shares: its model version and its UTC day (the part of the
    predictions' key that a run's MERGE can name as literals, so it touches that day's files only)."""
    shared = {}
    for column in (VERSION_COLUMN, SCORED_ON_COLUMN):
        values = rows[column].unique()
        if len(values) != 1:
            raise ValueError(f"a scoring run's rows share one {column}; got {len(values)} values")
        shared[column] = values[0]
    return shared
