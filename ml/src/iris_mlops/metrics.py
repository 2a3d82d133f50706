"""Classification metrics by name; the primary metric parameter picks one of them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from iris_mlops.vocabulary import PrimaryMetric

Metric = Callable[[Sequence[object], Sequence[object]], float]

METRICS: dict[PrimaryMetric, Metric] = {
    PrimaryMetric.ACCURACY: lambda y, p: float(accuracy_score(y, p)),
    PrimaryMetric.F1_MACRO: lambda y, p: float(f1_score(y, p, average="macro")),
    PrimaryMetric.PRECISION_MACRO: lambda y, p: float(
        precision_score(y, p, average="macro", zero_division=0)
    ),
    PrimaryMetric.RECALL_MACRO: lambda y, p: float(recall_score(y, p, average="macro", zero_division=0)),
}


def score_all(truth: Sequence[object], predicted: Sequence[object]) -> dict[str, float]:
    return {str(name): metric(truth, predicted) for name, metric in METRICS.items()}
