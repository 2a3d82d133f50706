"""The closed vocabulary of environments, their short codes and the order a release is promoted through.

The one owner of these facts for the platform (settings, components, tools, bootstrap). It imports
nothing of ours, so every layer may import it. The policy pack's virtualenv cannot import it; its
copy (policy/context.py) is compared with this one by tests/policy/test_policy_packaging.py.
"""

from __future__ import annotations

from enum import StrEnum


class Environment(StrEnum):
    """One Pulumi stack per environment; the stack name is the environment name."""

    SANDBOX = "sandbox"
    DEV = "dev"
    UAT = "uat"
    PROD = "prod"

    @property
    def is_production_like(self) -> bool:
        """uat and prod carry approvals, purge protection and running schedules."""
        return self in PRODUCTION_LIKE

    @property
    def code(self) -> str:
        """The short spelling inside physical Azure names (naming.py)."""
        return ENVIRONMENT_CODES[self]


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
