"""The reference the monitor compares a window with: the champion's training data, summarised once.

Training writes the profile of its training rows (window_stats.ReferenceProfile: decile edges,
quantiles and class counts; a few kilobytes whatever the rows) as an artifact of its run, so the
daily monitor reads a fixed-size file instead of the feature table. A champion trained before the
profile existed gets it computed from the feature table's train split, as before.

Which columns are compared: every feature, and the outcome. A classifier's predicted class shares
are compared with the training labels' shares; a regression's predictions with the champion's own
predictions on the training rows (a regression's predictions are narrower than its labels: against
the labels, every window would drift).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from .context import RegisteredVersion, TaskContext
from .project import ProjectSpec
from .vocabulary import CHAMPION, PREDICTION_COLUMN, ProblemKind
from .window_stats import ReferenceProfile, reference_profile

REFERENCE_ARTIFACT = "drift_reference.json"

Pairs = list[tuple[str, str]]


def with_outcome(
    project: ProjectSpec, reference: pd.DataFrame, predicted: Sequence[object] | None
) -> tuple[pd.DataFrame, Pairs, Pairs]:
    """The reference, and the (reference column, window column) pairs to compare, numeric then
    categorical; `predicted` is the champion's predictions on the rows (a regression needs them)."""
    numeric = [(feature, feature) for feature in project.feature_columns]
    if project.kind is ProblemKind.CLASSIFICATION:
        return reference, numeric, [(project.label_column, PREDICTION_COLUMN)]
    if predicted is None:
        raise ValueError("a regression's reference needs the champion's predictions on its rows")
    reference = reference.assign(**{PREDICTION_COLUMN: list(predicted)})
    return reference, [*numeric, (PREDICTION_COLUMN, PREDICTION_COLUMN)], []


class Predictor(Protocol):
    def predict(self, features: pd.DataFrame) -> Any: ...


def outcome_of(project: ProjectSpec, model: Predictor, rows: pd.DataFrame) -> list[object] | None:
    """The model's predictions on the rows where the reference needs them (a regression)."""
    if project.kind is ProblemKind.CLASSIFICATION:
        return None
    return list(model.predict(project.features_of(rows)))


def training_profile(project: ProjectSpec, train_rows: pd.DataFrame, model: Predictor) -> ReferenceProfile:
    """What train.py logs as REFERENCE_ARTIFACT: its training rows, with its model's predictions."""
    return reference_profile(*with_outcome(project, train_rows, outcome_of(project, model, train_rows)))


def reference_rows(ctx: TaskContext, champion: RegisteredVersion) -> tuple[pd.DataFrame, Pairs, Pairs]:
    """The champion's training rows themselves (the train split of the feature table)."""
    project = ctx.project
    reference, _ = project.split_holdout(ctx.backend.read_table(ctx.table(project.tables.features)))
    predicted = None
    if project.kind is ProblemKind.REGRESSION:
        predicted = outcome_of(project, ctx.load_model(champion, CHAMPION), reference)
    return with_outcome(project, reference, predicted)


def champion_profile(ctx: TaskContext, champion: RegisteredVersion) -> ReferenceProfile:
    """The profile its training run logged; computed from the feature table if it has none."""
    run_id = ctx.client.get_model_version(ctx.model_name, champion.version).run_id
    try:
        logged = mlflow.artifacts.load_dict(f"runs:/{run_id}/{REFERENCE_ARTIFACT}")
    except (MlflowException, OSError):
        return reference_profile(*reference_rows(ctx, champion))
    return ReferenceProfile.from_dict(logged)
