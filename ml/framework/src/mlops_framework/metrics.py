"""Metrics by name, one function each; the primary metric parameter picks the gate's one.

What each metric scores and which way it improves is the vocabulary's (vocabulary.METRIC_FACTS);
evaluate computes every metric of the project's kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    precision_score,
    recall_score,
    root_mean_squared_error,
)

from .vocabulary import PrimaryMetric, ProblemKind, metrics_of

Metric = Callable[[Sequence[object], Sequence[object]], float]

METRICS: dict[PrimaryMetric, Metric] = {
    PrimaryMetric.ACCURACY: lambda y, p: float(accuracy_score(y, p)),
    PrimaryMetric.F1_MACRO: lambda y, p: float(f1_score(y, p, average="macro")),
    PrimaryMetric.PRECISION_MACRO: lambda y, p: float(
        precision_score(y, p, average="macro", zero_division=0)
    ),
    PrimaryMetric.RECALL_MACRO: lambda y, p: float(recall_score(y, p, average="macro", zero_division=0)),
    PrimaryMetric.RMSE: lambda y, p: float(root_mean_squared_error(y, p)),
    PrimaryMetric.MAE: lambda y, p: float(mean_absolute_error(y, p)),
}


def score_all(truth: Sequence[object], predicted: Sequence[object], kind: ProblemKind) -> dict[str, float]:
    """Every metric that scores `kind`."""
    return {str(name): METRICS[name](truth, predicted) for name in metrics_of(kind)}
