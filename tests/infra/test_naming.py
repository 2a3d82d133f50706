"""Naming rules: every derived Azure name fits its budget for every valid prefix and every stack."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.naming import NAME_RULES, AzureNames, NamingError, ResourceKind, azure_names, max_prefix_length
from stacks.environment import Environment

# Valid prefixes as NamePrefix defines them: lowercase alnum words joined by single hyphens.
valid_prefixes = st.from_regex(r"[a-z][a-z0-9]{1,5}(-[a-z0-9]{1,2})?", fullmatch=True).filter(
    lambda p: len(p) <= max_prefix_length()
)


def _names_by_kind(names: AzureNames) -> dict[ResourceKind, str]:
    return {kind: getattr(names, kind.name.lower()) for kind in ResourceKind}


@given(prefix=valid_prefixes, rotation=st.integers(min_value=0, max_value=999))
def test_every_derived_name_fits_its_azure_budget_for_every_stack(prefix: str, rotation: int) -> None:
    for environment in Environment:
        for kind, name in _names_by_kind(azure_names(prefix, environment, rotation)).items():
            rule = NAME_RULES[kind]
            assert rule.min_length <= len(name) <= rule.max_length, (kind, name)
            assert re.fullmatch(rule.pattern, name), (kind, name)


@given(prefix=valid_prefixes)
def test_globally_unique_names_are_deterministic_and_distinct_per_stack(prefix: str) -> None:
    first = {env: azure_names(prefix, env) for env in Environment}
    again = {env: azure_names(prefix, env) for env in Environment}
    assert first == again
    assert len({names.key_vault for names in first.values()}) == len(Environment)
    assert len({names.storage_account for names in first.values()}) == len(Environment)


@given(prefix=valid_prefixes)
def test_rotating_the_suffix_escapes_a_soft_deleted_vault_name(prefix: str) -> None:
    before = azure_names(prefix, Environment.SANDBOX, rotation=0)
    after = azure_names(prefix, Environment.SANDBOX, rotation=1)
    assert before.key_vault != after.key_vault
    assert before.storage_account != after.storage_account
    assert before.resource_group == after.resource_group  # only globally unique names rotate


def test_key_vault_budget_sets_the_prefix_limit() -> None:
    assert max_prefix_length() == 12
    azure_names("a" * 12, Environment.SANDBOX)


@pytest.mark.parametrize(
    ("prefix", "budget"),
    [
        ("a" * 13, "Key Vault budget is 3-24"),
        ("abcdefghijklmnop", "storage account budget is 3-24"),
    ],
)
def test_too_long_prefix_names_the_budget_it_broke(prefix: str, budget: str) -> None:
    with pytest.raises(NamingError) as error:
        azure_names(prefix, Environment.PROD)
    assert budget in str(error.value)
    assert "namePrefix may be at most" in str(error.value)
