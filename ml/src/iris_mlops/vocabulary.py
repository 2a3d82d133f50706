"""Closed vocabularies the wheel shares with the platform, in one stdlib-only module.

The platform imports this module (stacks/settings.py types ``model.primaryMetric`` with it), so a
metric added here is accepted by the settings and by the task parameters at once. Like
``iris_mlops.job_graph`` it imports the standard library only (tests/test_layers.py checks it).
"""

from __future__ import annotations

from enum import StrEnum


class PrimaryMetric(StrEnum):
    """The metrics the gate may compare a challenger and the champion on."""

    ACCURACY = "accuracy"
    F1_MACRO = "f1_macro"
    PRECISION_MACRO = "precision_macro"
    RECALL_MACRO = "recall_macro"
