"""Closed vocabularies the wheel shares with the platform, in one stdlib-only module.

The platform imports this module (stacks/settings.py types ``model.primaryMetric`` with it, and
core/environment.py takes ``Environment`` from it), so a metric or an environment added here is
accepted by the settings and by the task parameters at once. Like
``mlops_framework.job_graph`` it imports the standard library only (tests/test_layers.py checks it).

Each metric carries the kind of problem it scores and its direction: the gate (gate.py) compares a
challenger and the champion by that direction, so an error metric (RMSE, MAE) promotes the lower
score and an accuracy-like metric the higher one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# An ML project's name: its folder ml/projects/<name>/, its dist/<name>/, its console scripts
# <name>-<task>, its entry in the stack files (Iris's is "iris").
PROJECT_NAME = re.compile(r"[a-z][a-z0-9-]{1,20}")


class Environment(StrEnum):
    """The environments, in promotion order after sandbox: each is one Pulumi stack, one catalog.

    The one list of environments. The wheel parses its tasks' ``env`` parameter with it
    (params.py); the platform reads it through core/environment.py, which adds the platform's facts
    about each environment (short codes, promotion order, which are production-like). It lives here
    because the wheel runs on Databricks without the platform, and the platform may import this
    stdlib-only module.
    """

    SANDBOX = "sandbox"
    DEV = "dev"
    UAT = "uat"
    PROD = "prod"


# uat and prod carry approvals, purge protection and running schedules (the platform's
# stacks/defaults.py and rules.py); on Databricks the wheel's tasks refuse a weakened gate there.
PRODUCTION_LIKE: frozenset[Environment] = frozenset({Environment.UAT, Environment.PROD})
# The catalog property naming the environment whose catalog it is. Pulumi sets it on each
# environment's catalog (infra/unity_catalog.py), owned by that environment's deployers; on
# Databricks every task reads it and trusts it over its own `env` parameter (catalog_environment.py).
ENVIRONMENT_PROPERTY = "mlops.environment"


class PrimaryMetric(StrEnum):
    """The metrics the gate may compare a challenger and the champion on."""

    ACCURACY = "accuracy"
    F1_MACRO = "f1_macro"
    PRECISION_MACRO = "precision_macro"
    RECALL_MACRO = "recall_macro"
    RMSE = "rmse"
    MAE = "mae"


class Direction(StrEnum):
    """Which way a metric improves."""

    HIGHER = "higher"  # higher is better: accuracy, F1
    LOWER = "lower"  # lower is better: an error

    def better(self, candidate: float, reference: float, tolerance: float = 0.0) -> bool:
        """`candidate` is at least as good as `reference` (within `tolerance`)."""
        if self is Direction.HIGHER:
            return candidate + tolerance >= reference
        return candidate - tolerance <= reference

    def shifted(self, score: float, margin: float) -> float:
        """The score a challenger must reach to beat `score` by `margin` in this direction."""
        return score + margin if self is Direction.HIGHER else score - margin


class Rescore(StrEnum):
    """Which feature rows a batch inference run scores: its job parameter `rescore`, whose default
    the platform sets (steps/batch_inference.py, incremental.py)."""

    CHANGED = "changed"  # rows new or changed since the champion's last run; every row for a new champion
    ALL = "all"  # every row, whatever was scored before (a backfill, a feature fix not stamped)


class ProblemKind(StrEnum):
    """What a project's model predicts; a metric scores one kind only."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


@dataclass(frozen=True)
class MetricFacts:
    kind: ProblemKind
    direction: Direction


METRIC_FACTS: dict[PrimaryMetric, MetricFacts] = {
    PrimaryMetric.ACCURACY: MetricFacts(ProblemKind.CLASSIFICATION, Direction.HIGHER),
    PrimaryMetric.F1_MACRO: MetricFacts(ProblemKind.CLASSIFICATION, Direction.HIGHER),
    PrimaryMetric.PRECISION_MACRO: MetricFacts(ProblemKind.CLASSIFICATION, Direction.HIGHER),
    PrimaryMetric.RECALL_MACRO: MetricFacts(ProblemKind.CLASSIFICATION, Direction.HIGHER),
    PrimaryMetric.RMSE: MetricFacts(ProblemKind.REGRESSION, Direction.LOWER),
    PrimaryMetric.MAE: MetricFacts(ProblemKind.REGRESSION, Direction.LOWER),
}


def direction_of(metric: PrimaryMetric | str) -> Direction:
    return METRIC_FACTS[PrimaryMetric(metric)].direction


def metrics_of(kind: ProblemKind) -> tuple[PrimaryMetric, ...]:
    """The metrics that score `kind`, in vocabulary order."""
    return tuple(metric for metric, facts in METRIC_FACTS.items() if facts.kind is kind)


# Names the wheel and the platform must spell alike, defined once here (the platform imports them):
# the model aliases the approve task moves (Pulumi creates the endpoint once CHAMPION exists and
# serves that version), the served entity the deploy task moves to a new version (Pulumi creates
# the endpoint with it), and the job a drift alert starts (the platform gives its name to the
# monitoring task and its id to the drift alert's query).
CHAMPION = "champion"
CHALLENGER = "challenger"
SERVED_ENTITY_NAME = "champion"
TRAINING_JOB = "training"
# The columns of every scored row (scoring.py writes them; the platform's quality monitor profiles
# the predictions table by them, infra/model_monitoring.py).
PREDICTION_COLUMN = "prediction"
VERSION_COLUMN = "model_version"
SCORED_AT_COLUMN = "scored_at"
# The UTC day of the scoring run: with the key and the version, the predictions table's primary key,
# so each day's run appends its rows and a rerun that day replaces them (steps/batch_inference.py).
SCORED_ON_COLUMN = "scored_on"
# The feature table's watermark: when each row was written or last changed (UTC). Ingest stamps it;
# batch inference reads only rows stamped after its last run with the same champion (incremental.py).
UPDATED_AT_COLUMN = "updated_at"


@dataclass(frozen=True)
class DecisionDefaults:
    """What the gate and the monitor decide with when a task gets none of these parameters.

    Each is a task parameter (params.py). On Databricks the platform decides them per environment
    (its settings: ``projects[].margin``, ``model.requireApproval``, ``model.drift.*``, with the
    per-environment defaults in stacks/defaults.py) and passes every one to every job, so the wheel
    keeps no table per environment. A local run that passes none uses these; the platform's
    settings start from the same values (stacks/settings.py reads them here), so an environment
    that stacks/defaults.py does not mention behaves like a local run.
    """

    margin: float = 0.0  # the challenger must beat the champion by this, in the metric's direction
    require_approval: bool = False  # a human tags the challenger approval=approved first
    drift_psi_threshold: float = 0.25  # a feature drifts from this PSI on ...
    drift_p_value: float = 0.01  # ... when its two-sample test also rejects at this level
    drift_min_rows: int = 50  # fewer rows in the window or the reference: not enough data


DECISION_DEFAULTS = DecisionDefaults()


@dataclass(frozen=True)
class Tables:
    """A project's short table names; the full name is `catalog.schema.<name>` (TaskContext.table).

    Here, not in project.py, because the platform names the same tables (the quality monitor
    watches ``predictions``): stacks/projects.py calls ``Tables.prefixed`` too."""

    features: str
    predictions: str
    deployments: str
    drift: str  # one row per monitoring window and feature (steps/monitor.py)
    retrains: str  # one row per window whose drift started a retrain
    served: str  # what the local endpoint answered, unpacked (served_log.py)
    # How far batch inference has scored the feature table, per champion (incremental.py).
    watermarks: str

    @classmethod
    def prefixed(cls, prefix: str) -> Tables:
        return cls(
            features=f"{prefix}_features",
            predictions=f"{prefix}_predictions",
            deployments=f"{prefix}_deployments",
            drift=f"{prefix}_drift",
            retrains=f"{prefix}_drift_retrains",
            served=f"{prefix}_served_requests",
            watermarks=f"{prefix}_scoring_watermarks",
        )
