"""The environments, their short codes and the order a release is promoted through.

The list of environments has one owner, the wheel's stdlib-only ``mlops_framework.vocabulary`` (the
wheel runs on Databricks without the platform, so it cannot import this module; the platform may
import that one, as it reads the job-graph contract). This module adds what only the platform
knows about each environment, and every layer imports ``Environment`` from here, the policy pack
too (its virtualenv has neither installed; policy/__main__.py puts both on its path).
``PRODUCTION_LIKE`` (uat, prod) is the wheel's too: its tasks refuse a weakened gate there.
``ENVIRONMENT_PROPERTY`` is the catalog property the platform sets and those tasks trust over
their ``env`` parameter (mlops_framework.catalog_environment).
"""

from __future__ import annotations

from mlops_framework.vocabulary import ENVIRONMENT_PROPERTY, PRODUCTION_LIKE, Environment

__all__ = ["ENVIRONMENT_CODES", "ENVIRONMENT_PROPERTY", "PRODUCTION_LIKE", "PROMOTION_ORDER", "Environment"]

# Physical names carry a short code; "sbx" and "prd" keep the longest name within Azure's limits.
ENVIRONMENT_CODES: dict[Environment, str] = {
    Environment.SANDBOX: "sbx",
    Environment.DEV: "dev",
    Environment.UAT: "uat",
    Environment.PROD: "prd",
}

# A release moves left to right; sandbox is outside the chain (nothing is promoted from or to it).
PROMOTION_ORDER: tuple[Environment, ...] = (Environment.DEV, Environment.UAT, Environment.PROD)
