"""The Iris project: a classifier on scikit-learn's bundled Iris data set (no download).

Everything generic (steps, gate, backends, serving, monitoring, runner) is the framework's
(`mlops_framework`, vendored into this wheel: docs/ml.md, "Projects"); this module says only what
differs: the data (data.py), the estimator, the tables, the gate metric and its floors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_framework.project import ProjectSpec
from mlops_framework.scripts import ProjectScripts
from mlops_framework.vocabulary import Environment, PrimaryMetric, ProblemKind, metrics_of

from iris_mlops.data import FEATURE_COLUMNS, KEY_COLUMN, LABEL_COLUMN, TABLES, load_iris_frame

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

MODEL_SEED = 0
DEFAULT_REGULARIZATION = 1.0  # LogisticRegression's C
# The floor on any classification metric (each lies in [0, 1]), per environment.
FLOORS = {Environment.SANDBOX: 0.8, Environment.DEV: 0.8, Environment.UAT: 0.85, Environment.PROD: 0.9}


def build_pipeline(regularization: float | None = None) -> Pipeline:
    # scikit-learn costs seconds of imports: a task with a bad parameter fails before paying them.
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import Pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    strength = DEFAULT_REGULARIZATION if regularization is None else regularization
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=strength, max_iter=500, random_state=MODEL_SEED)),
        ]
    )


PROJECT = ProjectSpec(
    name="iris",
    distribution="iris-mlops",
    package="iris_mlops",
    kind=ProblemKind.CLASSIFICATION,
    load_frame=load_iris_frame,
    key_column=KEY_COLUMN,
    label_column=LABEL_COLUMN,
    feature_columns=FEATURE_COLUMNS,
    build_estimator=build_pipeline,
    cv_scoring="f1_macro",
    tables=TABLES,
    schema="iris",
    model_name="iris_classifier",
    primary_metric=PrimaryMetric.F1_MACRO,
    bounds={metric: FLOORS for metric in metrics_of(ProblemKind.CLASSIFICATION)},
)
# The console scripts (pyproject.toml [project.scripts]) point at these.
SCRIPTS = ProjectScripts(PROJECT)
