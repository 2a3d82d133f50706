"""Rules over the whole stack: what one resource needs from another (an identity, a role, an order).

A ``StackRule`` reads every resource at once with its dependencies (URNs), so the same pure check
runs as a CrossGuard ``StackValidationPolicy`` (``pack.py``) and over the offline plan
(``offline.py``). A check returns ``(urn, message)`` pairs: which resource breaks the rule, and how.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .context import PolicyContext
from .rule import Enforcement


@dataclass(frozen=True)
class StackResource:
    """One resource of the stack as a stack rule sees it."""

    urn: str
    type: str
    props: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()


StackCheck = Callable[[Sequence[StackResource], PolicyContext], list[tuple[str, str]]]


@dataclass(frozen=True)
class StackRule:
    name: str
    description: str
    enforcement: Enforcement
    check: StackCheck

    def evaluate(self, resources: Sequence[StackResource], context: PolicyContext) -> list[tuple[str, str]]:
        return self.check(resources, context)


def urn_type(urn: str) -> str:
    """The resource type in a URN (the last of its ``$``-joined parent types)."""
    parts = urn.split("::")
    return parts[-2].split("$")[-1] if len(parts) >= 4 else ""


def of_type(resources: Iterable[StackResource], type_: str) -> list[StackResource]:
    return [r for r in resources if r.type == type_]


def depends_on(resource: StackResource, others: Iterable[StackResource]) -> list[StackResource]:
    """The resources among ``others`` that ``resource`` depends on directly."""
    wanted = set(resource.dependencies)
    return [other for other in others if other.urn in wanted]
