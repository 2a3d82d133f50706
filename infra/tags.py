"""The common tags, built in one place and applied explicitly by every component.

Why explicit and not a stack transform: transforms do not run under Pulumi's mocks, so the offline
plan and the tests would show untagged resources while a real ``pulumi up`` tagged them. Passing
``tags=`` explicitly keeps the preview honest, and a test checks that every resource whose type
accepts ``tags`` received all of these.
"""

from __future__ import annotations

from core.pulumi_project import PROJECT
from core.tags import TAG_KEYS

__all__ = ["MANAGED_BY", "TAG_KEYS", "common_tags"]

MANAGED_BY = "pulumi"


def common_tags(*, environment: str, owner: str, cost_center: str) -> dict[str, str]:
    """The tags every taggable resource of one environment carries."""
    return {
        "environment": environment,
        "project": PROJECT,
        "owner": owner,
        "cost-center": cost_center,
        "managed-by": MANAGED_BY,
    }
