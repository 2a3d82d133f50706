"""Rows of the inference table, shared by the local and the Databricks batch scorer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from iris_mlops.vocabulary import PREDICTION_COLUMN, SCORED_AT_COLUMN, VERSION_COLUMN

if TYPE_CHECKING:
    import pandas as pd

    from iris_mlops.project import ProjectSpec


def prediction_rows(
    project: ProjectSpec,
    samples: pd.DataFrame,
    predictions: Sequence[object],
    model_version: str,
    scored_at: datetime | None = None,
) -> pd.DataFrame:
    """The project's key and features, its prediction (a class label as text, or a number), the
    version that scored it and when; `project.prediction_keys` is the table's primary key."""
    import pandas as pd  # noqa: PLC0415 - see the imports

    rows = samples.loc[:, [project.key_column, *project.feature_columns]].reset_index(drop=True)
    predicted = pd.Series(list(predictions), dtype=project.prediction_dtype)
    rows[PREDICTION_COLUMN] = predicted.astype(object) if project.prediction_dtype == "string" else predicted
    rows[VERSION_COLUMN] = str(model_version)
    rows[SCORED_AT_COLUMN] = pd.Timestamp(scored_at or datetime.now(UTC)).tz_convert("UTC")
    return rows
