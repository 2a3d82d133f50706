"""Rows of the inference table, shared by the local and the Databricks batch scorer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd

from iris_mlops.data import FEATURE_COLUMNS, KEY_COLUMN

PREDICTION_COLUMN = "prediction"
VERSION_COLUMN = "model_version"
SCORED_AT_COLUMN = "scored_at"
# One prediction per sample and model version: a rerun with the same champion replaces, not adds.
PREDICTION_KEYS = (KEY_COLUMN, VERSION_COLUMN)


def prediction_rows(
    samples: pd.DataFrame,
    predictions: Sequence[object],
    model_version: str,
    scored_at: datetime | None = None,
) -> pd.DataFrame:
    rows = samples.loc[:, [KEY_COLUMN, *FEATURE_COLUMNS]].reset_index(drop=True)
    rows[PREDICTION_COLUMN] = pd.Series(list(predictions), dtype="string").astype(object)
    rows[VERSION_COLUMN] = str(model_version)
    rows[SCORED_AT_COLUMN] = pd.Timestamp(scored_at or datetime.now(UTC)).tz_convert("UTC")
    return rows
