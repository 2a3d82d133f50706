"""The environments, their short codes and the order a release is promoted through.

The list of environments has one owner, the wheel's stdlib-only ``iris_mlops.vocabulary`` (the
wheel runs on Databricks without the platform, so it cannot import this module; the platform may
import that one, as it reads the job-graph contract). This module adds what only the platform
knows about each environment, and every layer imports ``Environment`` from here, the policy pack
too (its virtualenv has neither installed; policy/__main__.py puts both on its path).
"""

from __future__ import annotations

from iris_mlops.vocabulary import Environment

__all__ = ["ENVIRONMENT_CODES", "PRODUCTION_LIKE", "PROMOTION_ORDER", "Environment"]

# uat and prod carry approvals, purge protection and running schedules (stacks/defaults.py, rules.py).
PRODUCTION_LIKE: frozenset[Environment] = frozenset({Environment.UAT, Environment.PROD})

# Physical names carry a short code; "sbx" and "prd" keep the longest name within Azure's limits.
ENVIRONMENT_CODES: dict[Environment, str] = {
    Environment.SANDBOX: "sbx",
    Environment.DEV: "dev",
    Environment.UAT: "uat",
    Environment.PROD: "prd",
}

# A release moves left to right; sandbox is outside the chain (nothing is promoted from or to it).
PROMOTION_ORDER: tuple[Environment, ...] = (Environment.DEV, Environment.UAT, Environment.PROD)
