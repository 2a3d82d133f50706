"""Bad GitHub environment args fail before anything is registered, saying what to change; the OIDC
subjects pin main's copy of the reusable workflow."""

from __future__ import annotations

from typing import Any

import pulumi_github as github
import pytest
from pydantic import ValidationError

from core.deployments import DEPLOY_WORKFLOW, DEPLOYMENT_RULES, PR_PREVIEW_WORKFLOW, DeploymentRule
from core.environment import Environment
from core.github_oidc import oidc_subject, pull_request_subject
from infra.github import MAX_REVIEWERS, GitHubEnvironmentArgs
from infra.repository_settings import GithubActor

TEAM = GithubActor(kind="team", name="approvers")


@pytest.fixture(scope="module")
def provider() -> github.Provider:
    return github.Provider.__new__(github.Provider)  # a placeholder: args validation never calls it


def _args(name: str, provider: github.Provider, **overrides: Any) -> dict[str, Any]:
    rule = DEPLOYMENT_RULES[name]
    base: dict[str, Any] = {
        "name": name,
        "repository": "mlops-platform",
        "rule": rule,
        "reviewers": (TEAM,) if rule.requires_reviewers else (),
        "secrets": {"AZURE_CLIENT_ID": "client"},
        "provider": provider,
    }
    return {**base, **overrides}


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("prod", {"reviewers": ()}, "prod: deployments need approval"),
        ("dev", {"reviewers": (TEAM,)}, "has no approval step"),
        ("prod", {"reviewers": (TEAM,) * (MAX_REVIEWERS + 1)}, "at most 6"),
        ("dev", {"secrets": {"lower_case": "x"}}, "UPPER_SNAKE_CASE"),
        ("dev", {"secrets": {"GITHUB_TOKEN": "x"}}, "must not start with GITHUB_"),
        ("dev", {"wait_timer_minutes": -1}, "greater than or equal to 0"),
        ("dev", {"wait_timer_minutes": 43_201}, "less than or equal to 43200"),
        ("dev", {"rule": DeploymentRule(branches=())}, "GitHub would let every branch"),
        ("dev", {"repository": ""}, "at least 1 character"),
        ("dev", {"unknown_field": 1}, "Extra inputs are not permitted"),
    ],
)
def test_bad_args_are_refused_with_a_message(
    provider: github.Provider, name: str, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        GitHubEnvironmentArgs(**_args(name, provider, **overrides))


def test_a_reviewer_must_be_a_team_or_a_user() -> None:
    with pytest.raises(ValidationError, match="should match pattern"):
        GithubActor(kind="org", name="x")


@pytest.mark.parametrize("environment", list(Environment))
def test_oidc_subject_names_the_environment_and_mains_deploy_workflow(environment: Environment) -> None:
    assert oidc_subject("Acme-ML", "mlops.platform", environment) == (
        f"repo:Acme-ML/mlops.platform:environment:{environment.value}"
        f":job_workflow_ref:Acme-ML/mlops.platform/{DEPLOY_WORKFLOW}@refs/heads/main"
    )


def test_pull_request_subject_names_no_environment_and_mains_preview_workflow() -> None:
    assert pull_request_subject("acme-ml", "mlops-platform") == (
        "repo:acme-ml/mlops-platform:pull_request"
        f":job_workflow_ref:acme-ml/mlops-platform/{PR_PREVIEW_WORKFLOW}@refs/heads/main"
    )


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
