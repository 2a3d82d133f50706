"""The Iris data set as a feature table (Iris's project spec, iris_project.py, names it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_framework.vocabulary import Tables

if TYPE_CHECKING:
    import pandas as pd

KEY_COLUMN = "sample_id"
LABEL_COLUMN = "species"
FEATURE_COLUMNS = ("sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm")

# Short table names; the full name is `catalog.schema.<name>` (see TaskContext.table).
TABLES = Tables.prefixed("iris")
FEATURES_TABLE = TABLES.features
PREDICTIONS_TABLE = TABLES.predictions
DEPLOYMENTS_TABLE = TABLES.deployments
DRIFT_TABLE = TABLES.drift  # one row per monitoring window and feature (steps/monitor.py)
RETRAINS_TABLE = TABLES.retrains  # one row per window whose drift started a retrain
SERVED_TABLE = TABLES.served  # what the local endpoint answered, unpacked (served_log.py)


def load_iris_frame() -> pd.DataFrame:
    """Iris from scikit-learn's bundled copy (no download), keyed by a stable `sample_id`."""
    from sklearn.datasets import load_iris  # noqa: PLC0415 - scikit-learn: seconds of imports

    bunch = load_iris(as_frame=True)
    features = bunch.data.set_axis(list(FEATURE_COLUMNS), axis="columns").astype("float64")
    species = [str(bunch.target_names[target]) for target in bunch.target]
    frame = features.assign(**{LABEL_COLUMN: species})
    frame.insert(0, KEY_COLUMN, range(len(frame)))
    return frame.astype({KEY_COLUMN: "int64"})
