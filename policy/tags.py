"""Every taggable Azure resource carries the tags that cost reports and ownership queries group by."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.tags import TAG_KEYS

from .context import ENVIRONMENT_TAG, PolicyContext

AZURE_NATIVE_PREFIX = "azure-native:"

# Azure types with a `tags` input that the platform creates or may create. A resource is also
# treated as taggable whenever its inputs carry `tags`. Types without a tags property (role
# assignments, federated credentials, locks, diagnostic settings, subnets, blob containers) are
# never flagged. tests/policy checks this table against the installed azure-native schema and
# against every azure-native type the offline plan registers.
TAGGABLE_TYPES: frozenset[str] = frozenset(
    {
        "azure-native:resources:ResourceGroup",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:keyvault:Vault",
        "azure-native:keyvault:Secret",
        "azure-native:keyvault:Key",
        "azure-native:storage:StorageAccount",
        "azure-native:databricks:Workspace",
        "azure-native:databricks:AccessConnector",
        "azure-native:operationalinsights:Workspace",
        "azure-native:monitor:ActionGroup",
        "azure-native:monitor:ScheduledQueryRule",
        "azure-native:monitor:MetricAlert",
        "azure-native:network:VirtualNetwork",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:PrivateEndpoint",
        "azure-native:privatedns:PrivateZone",
    }
)


def is_taggable(resource_type: str, props: Mapping[str, Any]) -> bool:
    """Azure resources of a tagged type, or whose inputs already carry tags."""
    if not resource_type.startswith(AZURE_NATIVE_PREFIX):
        return False
    return resource_type in TAGGABLE_TYPES or "tags" in props


def check_required_tags(resource_type: str, props: Mapping[str, Any], context: PolicyContext) -> list[str]:
    if not is_taggable(resource_type, props):
        return []
    tags = props.get("tags")
    if not isinstance(tags, Mapping):
        return [f"no tags: add {', '.join(TAG_KEYS)}"]
    violations: list[str] = []
    missing = [key for key in TAG_KEYS if not isinstance(tags.get(key), str) or not tags.get(key)]
    if missing:
        violations.append(f"missing required tags: {', '.join(missing)}")
    tagged_environment = tags.get(ENVIRONMENT_TAG)
    if context.environment is not None and tagged_environment not in (None, context.environment):
        violations.append(
            f"tag environment={tagged_environment!r} does not match the stack's environment "
            f"{context.environment!r}"
        )
    return violations
