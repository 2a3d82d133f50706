"""One GitHub repository environment: which refs may run a job in it, who approves, what it logs in as.

Created by the bootstrap (a person), never by an environment stack: changing an environment's
protection needs the repository's Administration permission, and a token that has it cannot be
scoped to one environment, so any CI job holding one could strip prod's reviewers
(docs/security.md, trust model). The environment's name is part of the OIDC subject the identity
behind ``AZURE_CLIENT_ID`` trusts (``core/github_oidc.py``), so a job logs in as that identity only
once GitHub admitted it to the environment: its ref matched ``rule`` (``core/deployments.py``) and,
where reviewers are required, one of them approved (never the person who started the run).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

import pulumi
import pulumi_github as github
from pydantic import Field, field_validator, model_validator

from core.deployments import DeploymentRule
from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.repository_settings import GithubActor, actor_id

MAX_REVIEWERS = 6  # GitHub's limit on required reviewers (users and teams together)
MAX_WAIT_TIMER_MINUTES = 43_200  # 30 days, GitHub's limit
_SECRET_NAME = re.compile(r"^(?!GITHUB_)[A-Z_][A-Z0-9_]*$")


class GitHubEnvironmentArgs(ComponentArgs):
    """One environment: its rule, its reviewers, the secrets its jobs read."""

    name: str = Field(min_length=1, description="The GitHub environment's name.")
    repository: str = Field(min_length=1, description="Repository name, without the owner.")
    rule: DeploymentRule = Field(description="Which refs may run a job in it; whether reviewers approve.")
    reviewers: tuple[GithubActor, ...] = Field(default=(), description="Who approves a job (looked up).")
    wait_timer_minutes: int = Field(
        default=0, ge=0, le=MAX_WAIT_TIMER_MINUTES, description="Delay before an approved job starts."
    )
    secrets: Mapping[str, StrInput] = Field(description="Environment secrets, name to value.")
    provider: github.Provider = Field(description="The bootstrap's GitHub provider.")

    @field_validator("secrets")
    @classmethod
    def _names_are_valid(cls, values: Mapping[str, StrInput]) -> Mapping[str, StrInput]:
        bad = sorted(name for name in values if not _SECRET_NAME.fullmatch(name))
        if bad:
            raise ValueError(f"{bad}: names are UPPER_SNAKE_CASE and must not start with GITHUB_")
        return MappingProxyType(dict(values))

    @model_validator(mode="after")
    def _reviewers_match_the_rule(self) -> GitHubEnvironmentArgs:
        if self.rule.requires_reviewers and not self.reviewers:
            raise ValueError(f"{self.name}: deployments need approval; name reviewer users or teams")
        if not self.rule.requires_reviewers and self.reviewers:
            raise ValueError(f"{self.name}: has no approval step; give no reviewers")
        if len(self.reviewers) > MAX_REVIEWERS:
            raise ValueError(f"{len(self.reviewers)} reviewers given; GitHub allows at most {MAX_REVIEWERS}")
        if not self.rule.branches and not self.rule.tags:
            raise ValueError(f"{self.name}: no branch or tag may deploy; GitHub would let every branch")
        return self


class GitHubEnvironment(PlatformComponent):
    """The repository environment, its deployment policies and its secrets."""

    AREA: ClassVar[str] = "github"

    environment_name: pulumi.Output[str]
    secret_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: GitHubEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, opts)
        rule = args.rule
        on_github = self.child_opts(pulumi.ResourceOptions(provider=args.provider))
        teams = [actor_id(a, self, args.provider) for a in args.reviewers if a.kind == "team"]
        users = [actor_id(a, self, args.provider) for a in args.reviewers if a.kind == "user"]
        environment = github.RepositoryEnvironment(
            f"{name}-environment",
            repository=args.repository,
            environment=args.name,
            # Named refs, never "protected branches": that mode cannot list tags, and it lets every
            # branch deploy while the repository has no branch protection at all.
            deployment_branch_policy=github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=False, custom_branch_policies=True
            ),
            reviewers=[github.RepositoryEnvironmentReviewerArgs(users=users or None, teams=teams or None)]
            if args.reviewers
            else None,
            prevent_self_review=rule.requires_reviewers,
            can_admins_bypass=rule.admins_can_bypass,
            wait_timer=args.wait_timer_minutes or None,
            opts=on_github,
        )
        # Everything below names the environment through its output, so it is created after it.
        in_environment = pulumi.ResourceOptions.merge(
            on_github, pulumi.ResourceOptions(depends_on=[environment])
        )
        patterns = [("branch", p) for p in rule.branches] + [("tag", p) for p in rule.tags]
        for kind, pattern in patterns:
            # Logical name from the pattern: stable while the rule's entry stays.
            suffix = re.sub(r"[^a-z0-9]+", "-", pattern.lower()).strip("-") or "all"
            github.RepositoryEnvironmentDeploymentPolicy(
                f"{name}-{kind}-{suffix}",
                repository=args.repository,
                environment=environment.environment,
                branch_pattern=pattern if kind == "branch" else None,
                tag_pattern=pattern if kind == "tag" else None,
                opts=in_environment,
            )
        # Identified by (repository, environment, name): a replacement that created the new one
        # before deleting the old would delete what it just wrote.
        by_name = pulumi.ResourceOptions.merge(
            in_environment, pulumi.ResourceOptions(delete_before_replace=True)
        )
        for secret_name, value in sorted(args.secrets.items()):
            github.ActionsEnvironmentSecret(
                f"{name}-secret-{secret_name.lower().replace('_', '-')}",
                repository=args.repository,
                environment=environment.environment,
                secret_name=secret_name,
                value=pulumi.Output.secret(value),
                opts=by_name,
            )
        self.environment_name = environment.environment
        self.secret_names = pulumi.Output.from_input(sorted(args.secrets))
        self.register(environment_name=self.environment_name, secret_names=self.secret_names)
