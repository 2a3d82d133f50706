"""The Iris data set as a feature table, and the one deterministic train/held-out split."""

from __future__ import annotations

import pandas as pd
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

KEY_COLUMN = "sample_id"
LABEL_COLUMN = "species"
FEATURE_COLUMNS = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")
HOLDOUT_FRACTION = 0.3
SPLIT_SEED = 42

# Short table names; the full name is `catalog.schema.<name>` (see TaskContext.table).
FEATURES_TABLE = "iris_features"
PREDICTIONS_TABLE = "iris_predictions"
DEPLOYMENTS_TABLE = "iris_deployments"
DRIFT_TABLE = "iris_drift"  # one row per monitoring window and feature (steps/monitor.py)
RETRAINS_TABLE = "iris_drift_retrains"  # one row per window whose drift started a retrain


def load_iris_frame() -> pd.DataFrame:
    """Iris from scikit-learn's bundled copy (no download), keyed by a stable `sample_id`."""
    bunch = load_iris(as_frame=True)
    features = bunch.data.set_axis(list(FEATURE_COLUMNS), axis="columns").astype("float64")
    species = [str(bunch.target_names[target]) for target in bunch.target]
    frame = features.assign(**{LABEL_COLUMN: species})
    frame.insert(0, KEY_COLUMN, range(len(frame)))
    return frame.astype({KEY_COLUMN: "int64"})


def split_holdout(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified split on rows ordered by key, so every step sees the same held-out rows."""
    ordered = frame.sort_values(KEY_COLUMN, ignore_index=True)
    train, holdout = train_test_split(
        ordered, test_size=HOLDOUT_FRACTION, random_state=SPLIT_SEED, stratify=ordered[LABEL_COLUMN]
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def features_of(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.loc[:, list(FEATURE_COLUMNS)]
