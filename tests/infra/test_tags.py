"""Common tags: built in one place, applied to every resource whose type accepts tags."""

from __future__ import annotations

import importlib
import inspect

import pytest

from core.environment import Environment
from infra.tags import TAG_KEYS, common_tags
from stacks.offline import OfflineRun


def test_common_tags_carry_every_required_key() -> None:
    tags = common_tags(environment="dev", owner="team-a", cost_center="cc-1")
    assert tuple(tags) == TAG_KEYS
    assert tags["environment"] == "dev"
    assert tags["managed-by"] == "pulumi"
    assert tags["cost-center"] == "cc-1"


def _accepts_tags(type_token: str) -> bool:
    """Whether the SDK class behind an ``azure-native:<module>:<Kind>`` token takes ``tags``."""
    _, module, kind = type_token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), kind)
    return "tags" in inspect.signature(cls._internal_init).parameters


@pytest.mark.parametrize("environment", list(Environment))
def test_every_taggable_resource_has_the_common_tags(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    run = plans[environment]
    taggable = [r for r in run.resources if r.type.startswith("azure-native:") and _accepts_tags(r.type)]
    assert len(taggable) >= 9  # RG, LA, action group, alert, vault, identity, connector, storage, workspace
    for resource in taggable:
        tags = resource.plain_inputs().get("tags", {})
        assert set(TAG_KEYS) <= set(tags), resource.name
        assert tags["environment"] == environment
