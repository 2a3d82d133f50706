"""The closed vocabulary of environments and the order a release is promoted through."""

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
        return self in (Environment.UAT, Environment.PROD)


# A release moves left to right; sandbox is outside the chain (nothing is promoted from or to it).
PROMOTION_ORDER: tuple[Environment, ...] = (Environment.DEV, Environment.UAT, Environment.PROD)
