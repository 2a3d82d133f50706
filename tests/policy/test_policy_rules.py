"""Each rule of the pack: a compliant case that passes and a failing case per guarded property.

Rows are (rule, resource type, environment, inputs, expected violation substring or None).
"""

from __future__ import annotations

from typing import Any

import pytest
from policy_examples import REPOSITORY, changed, compliant
from rule_cases_azure import AZURE_CASES, BOOTSTRAP, FEDERATED, WORKSPACE, Row
from rule_cases_databricks import DATABRICKS_CASES

from policy.context import BOOTSTRAP_PROJECT, PolicyContext
from policy.registry import RULES
from policy.rule import Enforcement

RULES_BY_NAME = {rule.name: rule for rule in RULES}
CASES: list[Row] = AZURE_CASES + DATABRICKS_CASES


def _case_id(row: Row) -> str:
    rule, resource_type, environment, _, expected = row
    return f"{rule}-{environment}-{resource_type.rsplit(':', 1)[-1]}-{'fails' if expected else 'passes'}"


@pytest.mark.parametrize(
    ("rule_name", "resource_type", "environment", "props", "expected"),
    [pytest.param(*row, id=_case_id(row)) for row in CASES],
)
def test_rule_passes_compliant_inputs_and_names_the_broken_property(
    rule_name: str, resource_type: str, environment: str, props: dict[str, Any], expected: str | None
) -> None:
    rule = RULES_BY_NAME[rule_name]
    context = (
        PolicyContext(environment=None, github_repository=REPOSITORY, project=BOOTSTRAP_PROJECT)
        if environment == BOOTSTRAP
        else PolicyContext(environment=environment, github_repository=REPOSITORY)
    )
    violations = rule.evaluate(resource_type, props, context)
    if expected is None:
        assert violations == []
    else:
        assert any(expected in message for message in violations), violations


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    passing = {row[0] for row in CASES if row[4] is None}
    failing = {row[0] for row in CASES if row[4] is not None}
    uncovered = {rule.name for rule in RULES if rule.name != "secret-inputs-are-secrets"} - (
        passing & failing
    )
    assert uncovered == set()  # secret-inputs-are-secrets has its own table in test_policy_secrets.py


@pytest.mark.parametrize("environment", [None, "prod"])
def test_unknown_environment_gets_prod_rules(environment: str | None) -> None:
    """A stack that is none of the four environments is held to prod's requirements."""
    workspace = RULES_BY_NAME["databricks-workspace-hardened"]
    props = changed(WORKSPACE, "parameters.enableNoPublicIp.value", False)
    assert workspace.evaluate(WORKSPACE, props, PolicyContext(environment, REPOSITORY)) != []


def test_federated_credential_fails_closed_without_a_configured_repository() -> None:
    rule = RULES_BY_NAME["federated-credential-scoped"]
    violations = rule.evaluate(FEDERATED, compliant(FEDERATED), PolicyContext("prod", None))
    assert any("configure githubRepository" in message for message in violations)


def test_cost_rules_are_advisory_and_guardrails_mandatory() -> None:
    advisory = {rule.name for rule in RULES if rule.enforcement is Enforcement.ADVISORY}
    assert advisory == {
        "nonprod-serving-cost",
        "nonprod-log-retention",
        "nonprod-storage-redundancy",
        "job-has-timeout",
        "cluster-autotermination",
    }
