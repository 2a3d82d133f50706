"""Bad GitHub environment args fail before anything is registered, saying what to change."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from core.environment import Environment
from core.github_oidc import oidc_subject, pull_request_subject
from infra.github import MAX_REVIEWERS, DeploymentRule, GitHubEnvironmentArgs, Protection


def _args(environment: Environment, **overrides: Any) -> dict[str, Any]:
    prod = environment is Environment.PROD
    base: dict[str, Any] = {
        "environment": environment,
        "protection": Protection(deployments=None, requires_reviewers=prod, admins_can_bypass=not prod),
        "owner": "acme-ml",
        "repository": "mlops-platform",
        "reviewer_users": (1,) if prod else (),
        "azure_client_id": "client",
        "azure_tenant_id": "tenant",
        "azure_subscription_id": "subscription",
        "azure_resource_group": "rg",
        "databricks_host": "https://adb.example",
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("environment", "overrides", "message"),
    [
        (Environment.PROD, {"reviewer_users": ()}, "prod: deployments need approval"),
        (Environment.DEV, {"reviewer_teams": (5,)}, "has no approval step"),
        (Environment.UAT, {"reviewer_users": (5,)}, "has no approval step"),
        (Environment.PROD, {"reviewer_users": tuple(range(1, MAX_REVIEWERS + 2))}, "at most 6"),
        (Environment.PROD, {"reviewer_users": (0,)}, "greater than 0"),
        (Environment.PROD, {"reviewer_users": ("not a login",)}, "should match pattern"),
        (Environment.PROD, {"reviewer_teams": ("-team",)}, "should match pattern"),
        (Environment.DEV, {"extra_secrets": {"lower_case": "x"}}, "UPPER_SNAKE_CASE"),
        (Environment.DEV, {"extra_variables": {"GITHUB_TOKEN": "x"}}, "must not start with GITHUB_"),
        (Environment.DEV, {"extra_secrets": {"A": "x"}, "extra_variables": {"A": "y"}}, "either a secret"),
        (Environment.DEV, {"wait_timer_minutes": -1}, "greater than or equal to 0"),
        (Environment.DEV, {"wait_timer_minutes": 43_201}, "less than or equal to 43200"),
        (Environment.DEV, {"owner": ""}, "at least 1 character"),
        (Environment.DEV, {"unknown_field": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_args_are_refused_with_a_message(
    environment: Environment, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        GitHubEnvironmentArgs(**_args(environment, **overrides))


def test_args_are_frozen() -> None:
    args = GitHubEnvironmentArgs(**_args(Environment.DEV))
    with pytest.raises(ValidationError, match="frozen"):
        args.repository = "other"  # type: ignore[misc]


def test_a_deployment_rule_is_either_protected_branches_or_patterns() -> None:
    with pytest.raises(ValueError, match="not both"):
        DeploymentRule(protected_branches=True, tag_patterns=("v*",))
    with pytest.raises(ValueError, match="not both"):
        DeploymentRule()
    assert DeploymentRule(protected_branches=True).protected_branches


@pytest.mark.parametrize("environment", list(Environment))
def test_oidc_subject_ends_with_the_exact_environment_name(environment: Environment) -> None:
    assert oidc_subject("Acme-ML", "mlops.platform", environment) == (
        f"repo:Acme-ML/mlops.platform:environment:{environment.value}"
    )


def test_pull_request_subject_names_no_environment() -> None:
    assert pull_request_subject("acme-ml", "mlops-platform") == "repo:acme-ml/mlops-platform:pull_request"


@pytest.mark.parametrize(
    ("owner", "repository", "environment", "what"),
    [
        ("acme/ml", "repo", "dev", "owner"),
        ("-acme", "repo", "dev", "owner"),
        ("acme", "re po", "dev", "repository"),
        ("acme", "repo", "dev:x", "environment"),
        ("acme", "repo", " dev", "environment"),
        ("acme", "repo", "", "environment"),
    ],
)
def test_oidc_subject_refuses_names_that_would_change_the_claim(
    owner: str, repository: str, environment: str, what: str
) -> None:
    with pytest.raises(ValueError, match=f"^{what} "):
        oidc_subject(owner, repository, environment)
