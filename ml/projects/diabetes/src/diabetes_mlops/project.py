"""The diabetes project: a regression on scikit-learn's bundled diabetes data set (no download).

Everything generic (steps, gate, backends, serving, monitoring, runner) is the framework's
(`mlops_framework`, vendored into this wheel: docs/ml.md, "Projects"); this module says only what differs:
the data, the estimator, the tables, the gate metric (RMSE: lower is better) and its bounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_framework.project import ProjectSpec
from mlops_framework.scripts import ProjectScripts
from mlops_framework.vocabulary import Environment, PrimaryMetric, ProblemKind, Tables

if TYPE_CHECKING:  # pandas and scikit-learn: seconds of imports, paid once a task's parameters parsed
    import pandas as pd
    from sklearn.pipeline import Pipeline

KEY_COLUMN = "patient_id"
LABEL_COLUMN = "progression"  # disease progression one year after baseline
FEATURE_COLUMNS = ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
DEFAULT_REGULARIZATION = 1.0  # Ridge's alpha: larger regularizes more
# Ceilings on the held-out error (the target spans 25-346; a mean predictor scores RMSE ~77).
RMSE_CEILINGS = {
    Environment.SANDBOX: 65.0,
    Environment.DEV: 65.0,
    Environment.UAT: 60.0,
    Environment.PROD: 58.0,
}
MAE_CEILINGS = {
    Environment.SANDBOX: 55.0,
    Environment.DEV: 55.0,
    Environment.UAT: 50.0,
    Environment.PROD: 48.0,
}


def load_frame() -> pd.DataFrame:
    """The 442 patients in their original units, keyed by a stable `patient_id`."""
    from sklearn.datasets import load_diabetes  # noqa: PLC0415

    bunch = load_diabetes(as_frame=True, scaled=False)
    frame = bunch.data.set_axis(list(FEATURE_COLUMNS), axis="columns").astype("float64")
    frame = frame.assign(**{LABEL_COLUMN: bunch.target.astype("float64")})
    frame.insert(0, KEY_COLUMN, range(len(frame)))
    return frame.astype({KEY_COLUMN: "int64"})


def build_pipeline(regularization: float | None = None) -> Pipeline:
    from sklearn.linear_model import Ridge  # noqa: PLC0415
    from sklearn.pipeline import Pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    alpha = DEFAULT_REGULARIZATION if regularization is None else regularization
    return Pipeline([("scale", StandardScaler()), ("regress", Ridge(alpha=alpha))])


PROJECT = ProjectSpec(
    name="diabetes",
    distribution="diabetes-mlops",
    package="diabetes_mlops",
    kind=ProblemKind.REGRESSION,
    load_frame=load_frame,
    key_column=KEY_COLUMN,
    label_column=LABEL_COLUMN,
    feature_columns=FEATURE_COLUMNS,
    build_estimator=build_pipeline,
    cv_scoring="neg_root_mean_squared_error",
    tables=Tables.prefixed("diabetes"),
    schema="diabetes",
    model_name="diabetes_regressor",
    primary_metric=PrimaryMetric.RMSE,
    bounds={PrimaryMetric.RMSE: RMSE_CEILINGS, PrimaryMetric.MAE: MAE_CEILINGS},
)
# The console scripts (pyproject.toml [project.scripts]) point at these.
SCRIPTS = ProjectScripts(PROJECT)
