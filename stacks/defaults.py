"""What differs between environments, as one table.

Values common to all environments are the field defaults in ``settings.py``; this table holds
only what differs. ``Pulumi.<stack>.yaml`` overrides both, key by key (deep merge). The gate's and
the monitor's values here (``margin``, ``model.requireApproval``, ``model.drift``) have no other
owner: the wheel takes them as task parameters on every job (stacks/wiring.py -> infra/jobs.py). The
``projectDefaults`` section applies to every project of ``projects`` whose entry does not set the
key (stacks/projects.py).
"""

from __future__ import annotations

from typing import Any

from core.environment import Environment

ENVIRONMENT_DEFAULTS: dict[Environment, dict[str, Any]] = {
    Environment.SANDBOX: {
        # Outside uat/prod the monitoring schedule is paused: a drift retrain there is a developer's test.
        "monitoring": {"retentionDays": 30, "driftAlertSeverity": 4},
        # Short retention so a destroyed sandbox vault frees its name quickly
        # (docs/traps.md: soft-deleted-names).
        "keyVault": {"softDeleteRetentionDays": 7},
        # Cheapest: no NAT gateway for secure cluster connectivity, locally redundant storage.
        "workspace": {"noPublicIp": False, "storageSku": "Standard_LRS"},
        # Disposable: developers build, and destroying it drops its tables too.
        "databricks": {
            "catalog": "mlops_sandbox",
            "deployersGroup": "mlops-sandbox-deployers",
            "developerAccess": "build",
            "forceDestroy": True,
        },
    },
    Environment.DEV: {
        "monitoring": {"retentionDays": 30, "driftAlertSeverity": 4},
        "keyVault": {"softDeleteRetentionDays": 7},
        "workspace": {"noPublicIp": False, "storageSku": "Standard_LRS"},
        "databricks": {
            "catalog": "mlops_dev",
            "deployersGroup": "mlops-dev-deployers",
            "developerAccess": "build",
        },
    },
    Environment.UAT: {
        "monitoring": {"retentionDays": 90},
        "keyVault": {"purgeProtection": True, "networkDefaultAction": "Deny"},
        "workspace": {"noPublicIp": True, "storageSku": "Standard_ZRS"},
        "databricks": {
            "catalog": "mlops_uat",
            "deployersGroup": "mlops-uat-deployers",
            "developerAccess": "read",
            "forceDestroy": False,
            "modelMonitoring": True,
        },
        "projectDefaults": {"schedulesEnabled": True, "servingScaleToZero": True},
        "model": {"requireApproval": True, "drift": {"psiThreshold": 0.2, "minRows": 100}},
    },
    Environment.PROD: {
        "protection": {"protectStateful": True, "deleteLock": True, "retainOnDelete": True},
        # Production data moved: a warning, though the retrain still waits for the gate and approval.
        "monitoring": {"retentionDays": 365, "driftAlertSeverity": 2},
        "keyVault": {"purgeProtection": True, "networkDefaultAction": "Deny"},
        "workspace": {"noPublicIp": True, "storageSku": "Standard_ZRS"},
        "databricks": {
            "catalog": "mlops_prod",
            "deployersGroup": "mlops-prod-deployers",
            "developerAccess": "read",
            "forceDestroy": False,
            "modelMonitoring": True,
        },
        # Every project's, unless its entry in `projects` says otherwise (stacks/projects.py).
        "projectDefaults": {
            "schedulesEnabled": True,
            "servingScaleToZero": False,
            "servingWorkloadSize": "Medium",
            "margin": 0.01,
        },
        "model": {"requireApproval": True, "drift": {"psiThreshold": 0.2, "minRows": 200}},
    },
}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` wins key by key; nested sections merge instead of replacing each other."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
