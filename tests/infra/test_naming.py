"""Naming rules: every derived Azure name fits its budget for every valid prefix and every stack;
Databricks names and both spellings of the environment stay what they were."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.environment import Environment
from infra.naming import (
    ENVIRONMENT_SPELLINGS,
    NAME_RULES,
    AzureNames,
    DatabricksNames,
    NameSystem,
    NamingError,
    ResourceKind,
    azure_names,
    max_prefix_length,
)

SUBSCRIPTION = "11111111-1111-4111-8111-111111111111"
OTHER_SUBSCRIPTION = "22222222-2222-4222-8222-222222222222"

# Valid prefixes as NamePrefix defines them: lowercase alnum words joined by single hyphens.
valid_prefixes = st.from_regex(r"[a-z][a-z0-9]{1,5}(-[a-z0-9]{1,2})?", fullmatch=True).filter(
    lambda p: len(p) <= max_prefix_length()
)


def _names_by_kind(names: AzureNames) -> dict[ResourceKind, str]:
    return {kind: getattr(names, kind.name.lower()) for kind in ResourceKind}


@given(prefix=valid_prefixes, rotation=st.integers(min_value=0, max_value=999))
def test_every_derived_name_fits_its_azure_budget_for_every_stack(prefix: str, rotation: int) -> None:
    for environment in Environment:
        for kind, name in _names_by_kind(
            azure_names(prefix, environment, rotation, subscription_id=SUBSCRIPTION)
        ).items():
            rule = NAME_RULES[kind]
            assert rule.min_length <= len(name) <= rule.max_length, (kind, name)
            assert re.fullmatch(rule.pattern, name), (kind, name)


@given(prefix=valid_prefixes)
def test_globally_unique_names_are_deterministic_and_distinct_per_stack(prefix: str) -> None:
    first = {env: azure_names(prefix, env, subscription_id=SUBSCRIPTION) for env in Environment}
    again = {env: azure_names(prefix, env, subscription_id=SUBSCRIPTION) for env in Environment}
    assert first == again
    assert len({names.key_vault for names in first.values()}) == len(Environment)
    assert len({names.storage_account for names in first.values()}) == len(Environment)


@given(prefix=valid_prefixes)
def test_rotating_the_suffix_escapes_a_soft_deleted_vault_name(prefix: str) -> None:
    before = azure_names(prefix, Environment.SANDBOX, rotation=0, subscription_id=SUBSCRIPTION)
    after = azure_names(prefix, Environment.SANDBOX, rotation=1, subscription_id=SUBSCRIPTION)
    assert before.key_vault != after.key_vault
    assert before.storage_account != after.storage_account
    assert before.resource_group == after.resource_group  # only globally unique names rotate


# Fixed examples, not generated ones: a 4-hex-digit suffix collides for 1 pair in 65536.
@pytest.mark.parametrize("prefix", ["mlops", "ml", "acme-ml"])
def test_two_organisations_with_the_same_prefix_get_different_global_names(prefix: str) -> None:
    # Defect: the hash covered only prefix|env|rotation, so everyone keeping the default prefix
    # raced for the same vault and storage names.
    ours = azure_names(prefix, Environment.PROD, subscription_id=SUBSCRIPTION)
    theirs = azure_names(prefix, Environment.PROD, subscription_id=OTHER_SUBSCRIPTION)
    assert ours.key_vault != theirs.key_vault
    assert ours.storage_account != theirs.storage_account
    assert ours.resource_group == theirs.resource_group  # only the globally unique names differ


def test_the_subscription_hashes_case_insensitively() -> None:
    upper = azure_names("mlops", Environment.DEV, subscription_id=SUBSCRIPTION.upper())
    assert upper == azure_names("mlops", Environment.DEV, subscription_id=SUBSCRIPTION)


def test_key_vault_budget_sets_the_prefix_limit() -> None:
    assert max_prefix_length() == 12
    azure_names("a" * 12, Environment.SANDBOX, subscription_id=SUBSCRIPTION)


@pytest.mark.parametrize(
    ("prefix", "budget"),
    [
        ("a" * 13, "Key Vault budget is 3-24"),
        ("abcdefghijklmnop", "storage account budget is 3-24"),
    ],
)
def test_too_long_prefix_names_the_budget_it_broke(prefix: str, budget: str) -> None:
    with pytest.raises(NamingError) as error:
        azure_names(prefix, Environment.PROD, subscription_id=SUBSCRIPTION)
    assert budget in str(error.value)
    assert "namePrefix may be at most" in str(error.value)


# --- Databricks names, and the two spellings of the environment ---------------------------------------


@pytest.mark.parametrize(
    ("environment", "azure", "databricks"),
    [
        (Environment.SANDBOX, "sbx", "sandbox"),
        (Environment.PROD, "prd", "prod"),
        (Environment.DEV, "dev", "dev"),
    ],
)
def test_physical_names_keep_the_spelling_they_were_created_with(
    environment: Environment, azure: str, databricks: str
) -> None:
    """Literal on purpose: a renamed physical name replaces the real object (ENVIRONMENT_SPELLINGS)."""
    assert (
        azure_names("mlops", environment, subscription_id=SUBSCRIPTION).resource_group == f"rg-mlops-{azure}"
    )
    names = DatabricksNames("mlops", environment)
    assert {
        "job": names.job("iris", "batch_inference"),
        "job principal": names.job_principal,
        "deployer": names.deployer,
        "preview": names.preview,
        "scope": names.secret_scope,
        "credential and location": names.metastore_objects,
        "endpoint": names.endpoint("iris_classifier"),
        "experiment": names.experiment("iris_classifier"),
        "monitoring": names.monitoring_assets("iris"),
    } == {
        "job": f"mlops-{databricks}-iris-batch-inference",  # per project since projects exist
        "job principal": f"mlops-{databricks}-jobs",
        "deployer": f"mlops-{databricks}-deployer",
        "preview": f"mlops-{databricks}-preview",
        "scope": f"mlops-{databricks}-jobs",
        "credential and location": f"mlops-{databricks}-uc",
        "endpoint": f"mlops-{databricks}-iris-classifier",
        "experiment": f"/Shared/mlops-{databricks}-iris_classifier",
        "monitoring": f"/Workspace/Shared/mlops-{databricks}-monitoring/iris",  # one folder per project
    }


def test_every_environment_has_a_spelling_in_each_system() -> None:
    for system in NameSystem:
        assert set(ENVIRONMENT_SPELLINGS[system]) == set(Environment), system
