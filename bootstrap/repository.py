"""The bootstrap's GitHub side: the repository's rulesets, secrets and subject template, and every
GitHub environment with the identity its jobs log in as (infra/repository_settings.py,
infra/github.py). Only a person running ``make bootstrap`` holds the token that manages them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from bootstrap.settings import BootstrapSettings, GithubActor
from core.deployments import DEPLOYMENT_RULES, PROD_PREVIEW, PULL_REQUEST_PREVIEWS
from core.environment import Environment
from infra.base import StrInput
from infra.github import GitHubEnvironment, GitHubEnvironmentArgs
from infra.repository_settings import GithubActor as Actor
from infra.repository_settings import RepositorySettings, RepositorySettingsArgs

# The checks a pull request must pass: the job names of .github/workflows/pr.yml (a test keeps
# them equal). The ML projects' own jobs are named per project: "ML projects" stands for them all.
# A job calling a reusable workflow reports `<caller job> / <called job>`.
PR_CHECKS: tuple[str, ...] = (
    "lint, tests, wheel",
    "list the ML projects",
    "ML projects",
    *(f"preview {env} / pulumi preview" for env in PULL_REQUEST_PREVIEWS),
)


@dataclass(frozen=True)
class Logins:
    """The identities CI logs in as: the PR previews', and each GitHub environment's."""

    tenant_id: StrInput
    pull_request_client_id: StrInput
    environment_client_ids: Mapping[str, StrInput]  # GitHub environment -> client id (when known)


def _actors(actors: tuple[GithubActor, ...]) -> tuple[Actor, ...]:
    return tuple(Actor(kind=a.type.value, name=a.name) for a in actors)


def build_repository(settings: BootstrapSettings, logins: Logins) -> RepositorySettings:
    """Rulesets, repository secrets, the OIDC template, then one GitHub environment per rule."""
    gh = settings.github
    repository = RepositorySettings(
        "repository",
        RepositorySettingsArgs(
            owner=gh.owner,
            repository=gh.repository,
            # What the pull request previews read, bound to no environment (pr-preview.yml). Not
            # the subscription nor the backend: each job reads them from its stack file.
            secrets={
                "AZURE_PREVIEW_CLIENT_ID": logins.pull_request_client_id,
                "AZURE_TENANT_ID": logins.tenant_id,
            },
            required_checks=PR_CHECKS,
            required_approvals=gh.required_approvals,
            release_managers=_actors(gh.release_managers),
        ),
    )
    for name, rule in DEPLOYMENT_RULES.items():
        client_id = logins.environment_client_ids.get(name)
        prod = name == Environment.PROD
        GitHubEnvironment(
            f"github-{name}",
            GitHubEnvironmentArgs(
                name=name,
                repository=gh.repository,
                rule=rule,
                reviewers=_actors(gh.prod_reviewers) if prod else (),
                wait_timer_minutes=gh.prod_wait_timer_minutes if prod else 0,
                # An environment outside the bootstrap's environments has no deployer: no login.
                secrets={"AZURE_TENANT_ID": logins.tenant_id}
                | ({"AZURE_CLIENT_ID": client_id} if client_id is not None else {}),
                provider=repository.provider,
            ),
            pulumi.ResourceOptions(parent=repository),
        )
    return repository


def environment_logins(
    deployer_client_ids: Mapping[Environment, StrInput], release_preview_client_id: StrInput
) -> dict[str, StrInput]:
    """GitHub environment -> the client id its jobs log in as: each deployer, and the release preview."""
    logins: dict[str, StrInput] = {env.value: client_id for env, client_id in deployer_client_ids.items()}
    logins[PROD_PREVIEW] = release_preview_client_id
    return logins
