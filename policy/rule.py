"""A rule is data: a name, what it guards, how hard it blocks, which types it reads, and a pure check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .context import PolicyContext

Check = Callable[[str, Mapping[str, Any], PolicyContext], list[str]]


class Enforcement(StrEnum):
    """The two levels this pack uses; the values are pulumi-policy's EnforcementLevel values."""

    MANDATORY = "mandatory"
    ADVISORY = "advisory"


@dataclass(frozen=True)
class Rule:
    """One policy of the pack.

    ``resource_types`` is the set of type tokens the check reads; an empty set means every type
    (the check filters itself). ``needs_secret_markers`` marks a check that can only run where
    secret values are still marked as such (the offline plan), not under pulumi-policy, which
    hands every policy plaintext with no secret marker.
    """

    name: str
    description: str
    enforcement: Enforcement
    check: Check
    resource_types: frozenset[str] = frozenset()
    needs_secret_markers: bool = False

    def applies_to(self, resource_type: str) -> bool:
        return not self.resource_types or resource_type in self.resource_types

    def evaluate(self, resource_type: str, props: Mapping[str, Any], context: PolicyContext) -> list[str]:
        """The violations of this rule for one resource (empty when it complies or does not apply)."""
        if not self.applies_to(resource_type):
            return []
        return self.check(resource_type, props, context)
