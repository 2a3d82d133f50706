"""Log Analytics: long retention is billed per GB per month; outside prod 90 days is plenty."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import PolicyContext
from .props import number

LOG_ANALYTICS_WORKSPACE = "azure-native:operationalinsights:Workspace"
NON_PRODUCTION_MAX_RETENTION_DAYS = 90


def advise_log_retention(resource_type: str, props: Mapping[str, Any], context: PolicyContext) -> list[str]:
    retention = number(props.get("retentionInDays"))
    if (
        context.is_known_non_production
        and retention is not None
        and retention > NON_PRODUCTION_MAX_RETENTION_DAYS
    ):
        return [
            f"retentionInDays is {retention:g} in {context.environment}: "
            f"keep it at or below {NON_PRODUCTION_MAX_RETENTION_DAYS}"
        ]
    return []
