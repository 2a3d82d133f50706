"""An ML project as the generic machinery sees it: its data, its model, its tables, its gate bounds.

The steps, backends, serving, monitoring, gate and runner of this package are generic: everything
project-specific comes from the `ProjectSpec` a task runs with (`TaskContext.project`). Iris's spec
is `iris_mlops.project.PROJECT`; every further project's wheel supplies its own
(`ml/projects/<name>/src/<package>/project.py`) and its console scripts run these same steps with it
(docs/ml.md, "Projects": why the framework is shared this way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .errors import ParameterError
from .params import TaskParameters
from .provenance import RunTags
from .vocabulary import (
    METRIC_FACTS,
    PROJECT_NAME,
    SCORED_ON_COLUMN,
    VERSION_COLUMN,
    Environment,
    PrimaryMetric,
    ProblemKind,
    Tables,
)

if TYPE_CHECKING:  # pandas and scikit-learn cost seconds of imports: a bad parameter fails first
    import pandas as pd
    from sklearn.pipeline import Pipeline

HOLDOUT_FRACTION = 0.3
SPLIT_SEED = 42
# What the training step logs as the fitted model's score on its own training rows.
TRAIN_SCORE_METRIC = {ProblemKind.CLASSIFICATION: "train_accuracy", ProblemKind.REGRESSION: "train_r2"}
# The prediction column's type in the inference table.
PREDICTION_DTYPE = {ProblemKind.CLASSIFICATION: "string", ProblemKind.REGRESSION: "float64"}


@dataclass(frozen=True)
class ProjectSpec:
    name: str  # matches PROJECT_NAME; the prefix of its console scripts (`<name>-train`)
    distribution: str  # the wheel's distribution name (its version tags every run)
    package: str  # the import package that holds job_graph.toml
    kind: ProblemKind
    load_frame: Callable[[], pd.DataFrame]  # the labelled data set, keyed by key_column; no download
    key_column: str
    label_column: str
    feature_columns: tuple[str, ...]
    # The unfitted estimator; `regularization` is the task parameter (None: the project's default).
    build_estimator: Callable[[float | None], Pipeline]  # the last step's params are logged
    cv_scoring: str  # scikit-learn scorer the training step cross-validates with
    tables: Tables
    schema: str  # local defaults; on Databricks the platform passes them
    model_name: str
    primary_metric: PrimaryMetric
    # The gate's bound on each metric the project may be gated on, per environment: a floor when
    # higher is better, a ceiling when lower is better (vocabulary.METRIC_FACTS). It also guards the
    # very first champion, which has nothing to beat.
    bounds: Mapping[PrimaryMetric, Mapping[Environment, float]]
    # How many UTC days of scoring runs the predictions table keeps: each batch run deletes the
    # rows of older days, so the table holds at most (rows scored a day) x this (docs/ml.md).
    predictions_retention_days: int = 90

    def __post_init__(self) -> None:
        if not PROJECT_NAME.fullmatch(self.name):
            raise ValueError(f"project name {self.name!r}; allowed: {PROJECT_NAME.pattern}")
        wrong = sorted(str(m) for m in self.bounds if METRIC_FACTS[m].kind is not self.kind)
        if wrong or self.primary_metric not in self.bounds:
            raise ValueError(
                f"project {self.name}: bounds must cover its primary metric {self.primary_metric} and "
                f"only {self.kind} metrics (got {wrong or sorted(map(str, self.bounds))})"
            )
        if self.predictions_retention_days < 1:
            raise ValueError(
                f"project {self.name}: predictions_retention_days is {self.predictions_retention_days}; "
                "allowed: 1 or more (days of scoring runs the predictions table keeps)"
            )

    @property
    def version(self) -> str:
        """The installed wheel's version ("0+unknown" from a source tree never installed)."""
        try:
            return version(self.distribution)
        except PackageNotFoundError:
            return "0+unknown"

    @property
    def tags(self) -> RunTags:
        """The keys of the framework's tags on this project's runs, versions and tables."""
        return RunTags(f"{self.package}_")

    @property
    def cli(self) -> str:
        """The project's local front door (`iris-mlops`, `diabetes-mlops`): run, approve, serve."""
        return f"{self.name}-mlops"

    def entry_point(self, task: str) -> str:
        return f"{self.name}-{task}"

    def task_of(self, entry_point: str) -> str:
        """`diabetes-train` -> `train`; an entry point of another project is an error."""
        prefix = f"{self.name}-"
        if not entry_point.startswith(prefix):
            raise KeyError(f"{entry_point!r} is not an entry point of project {self.name}")
        return entry_point.removeprefix(prefix)

    def defaults(self) -> TaskParameters:
        """The parameters of a local run with nothing given."""
        return TaskParameters(
            project=self.name,
            schema=self.schema,
            model_name=self.model_name,
            primary_metric=self.primary_metric,
        )

    def checked(self, params: TaskParameters) -> TaskParameters:
        """`params`, once its primary metric is one this project is gated on (else ParameterError)."""
        self.bound(params.primary_metric, params.env)
        return params

    def bound(self, metric: PrimaryMetric, env: Environment) -> float:
        if metric not in self.bounds:
            allowed = ", ".join(map(str, self.bounds))
            raise ParameterError(
                f"parameter --primary_metric: {str(metric)!r} is not allowed for project {self.name} "
                f"(a {self.kind}); allowed values: {allowed}"
            )
        return self.bounds[metric][env]

    @property
    def prediction_keys(self) -> tuple[str, str, str]:
        """One prediction per sample, model version and UTC day: each day's run appends, a rerun
        the same day with the same champion replaces its rows."""
        return (self.key_column, VERSION_COLUMN, SCORED_ON_COLUMN)

    @property
    def prediction_dtype(self) -> str:
        return PREDICTION_DTYPE[self.kind]

    def features_of(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[:, list(self.feature_columns)]

    def labels_of(self, frame: pd.DataFrame) -> pd.Series:
        labels = frame[self.label_column]
        return labels.astype(str) if self.kind is ProblemKind.CLASSIFICATION else labels.astype("float64")

    def split_holdout(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The one deterministic split on rows ordered by key (stratified for a classifier), so
        every step sees the same held-out rows."""
        from sklearn.model_selection import train_test_split  # noqa: PLC0415 - see the imports

        ordered = frame.sort_values(self.key_column, ignore_index=True)
        stratify: Any = ordered[self.label_column] if self.kind is ProblemKind.CLASSIFICATION else None
        train, holdout = train_test_split(
            ordered, test_size=HOLDOUT_FRACTION, random_state=SPLIT_SEED, stratify=stratify
        )
        return train.reset_index(drop=True), holdout.reset_index(drop=True)
