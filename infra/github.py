"""One GitHub repository environment per stack: who may deploy, who approves, what CI can read.

The environment's name is the stack name, which is also the subject of the Azure federated
credential (``core/github_oidc.py``): a job bound to this environment logs in to Azure by OIDC
and finds the ids it needs as environment secrets and variables. The provider is explicit; it
reads its token from ``GITHUB_TOKEN`` itself (a token with Administration, Environments and
Secrets write access on the repository; see docs/ci.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, ClassVar

import pulumi
import pulumi_github as github
from pydantic import Field, PositiveInt, StringConstraints, field_validator, model_validator

from core.environment import Environment
from infra.base import ComponentArgs, PlatformComponent, StrInput

GitHubLogin = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}$")]
TeamSlug = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]

MAX_REVIEWERS = 6  # GitHub's limit on required reviewers (users and teams together)
MAX_WAIT_TIMER_MINUTES = 43_200  # 30 days, GitHub's limit
_SECRET_OR_VARIABLE_NAME = re.compile(r"^(?!GITHUB_)[A-Z_][A-Z0-9_]*$")


@dataclass(frozen=True)
class DeploymentRule:
    """Which refs may deploy to an environment. No rule at all means any branch may."""

    protected_branches: bool = False
    branch_patterns: tuple[str, ...] = ()
    tag_patterns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # GitHub takes either "protected branches" or "selected branches and tags", never both.
        if self.protected_branches == bool(self.branch_patterns or self.tag_patterns):
            raise ValueError("a deployment rule is either protected branches or name patterns, not both")


@dataclass(frozen=True)
class Protection:
    """How one environment is guarded (settings ``github.*``, mapped by stacks/wiring.py)."""

    deployments: DeploymentRule | None
    requires_reviewers: bool = False
    admins_can_bypass: bool = True


class GitHubEnvironmentArgs(ComponentArgs):
    """Inputs of one stack's GitHub environment. Ids come from other components' outputs."""

    environment: Environment = Field(description="The stack; the GitHub environment's name.")
    protection: Protection = Field(description="Who may deploy, and whether a reviewer must approve.")
    owner: str = Field(min_length=1, description="GitHub user or organisation that owns the repository.")
    repository: str = Field(min_length=1, description="Repository name, without the owner.")
    reviewer_users: tuple[PositiveInt | GitHubLogin, ...] = Field(
        default=(), description="Users who approve deployments: login (looked up) or numeric id."
    )
    reviewer_teams: tuple[PositiveInt | TeamSlug, ...] = Field(
        default=(),
        description="Teams who approve deployments: slug in the owner org (looked up) or numeric id.",
    )
    wait_timer_minutes: int | None = Field(
        default=None, ge=0, le=MAX_WAIT_TIMER_MINUTES, description="Delay before an approved job starts."
    )
    azure_client_id: StrInput = Field(description="Client id of the deployer identity (OIDC).")
    azure_tenant_id: StrInput = Field(description="Entra tenant of the deployer identity.")
    azure_subscription_id: StrInput = Field(description="Subscription the stack deploys into.")
    azure_resource_group: StrInput = Field(description="Resource group of the environment.")
    databricks_host: StrInput = Field(description="Workspace URL the jobs and serving live in.")
    extra_secrets: Mapping[str, StrInput] = Field(
        default_factory=dict, description="More environment secrets, name to value; keep them few."
    )
    extra_variables: Mapping[str, StrInput] = Field(
        default_factory=dict, description="More environment variables (non-secret), name to value."
    )

    @field_validator("extra_secrets", "extra_variables")
    @classmethod
    def _names_are_valid(cls, values: Mapping[str, StrInput]) -> Mapping[str, StrInput]:
        bad = sorted(name for name in values if not _SECRET_OR_VARIABLE_NAME.fullmatch(name))
        if bad:
            raise ValueError(f"{bad}: names are UPPER_SNAKE_CASE and must not start with GITHUB_")
        return MappingProxyType(dict(values))

    @model_validator(mode="after")
    def _reviewers_match_protection(self) -> GitHubEnvironmentArgs:
        count = len(self.reviewer_users) + len(self.reviewer_teams)
        needs = self.protection.requires_reviewers
        if needs and count == 0:
            raise ValueError(f"{self.environment}: deployments need approval; give reviewer user or team ids")
        if not needs and count:
            raise ValueError(
                f"{self.environment}: has no approval step (requires_reviewers is false); give no reviewers"
            )
        if count > MAX_REVIEWERS:
            raise ValueError(f"{count} reviewers given; GitHub allows at most {MAX_REVIEWERS}")
        clash = set(self.extra_secrets) & set(self.extra_variables)
        if clash:
            raise ValueError(f"{sorted(clash)}: a name is either a secret or a variable, not both")
        return self


def _deployment_branch_policy(
    rule: DeploymentRule | None,
) -> github.RepositoryEnvironmentDeploymentBranchPolicyArgs | None:
    if rule is None:
        return None
    return github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
        protected_branches=rule.protected_branches,
        custom_branch_policies=not rule.protected_branches,
    )


def _slug(name: str) -> str:
    return name.lower().replace("_", "-")


class GitHubEnvironment(PlatformComponent):
    """The repository environment of one stack, its deployment rules, secrets and variables."""

    AREA: ClassVar[str] = "github"

    environment_name: pulumi.Output[str]
    secret_names: pulumi.Output[list[str]]
    variable_names: pulumi.Output[list[str]]

    def __init__(self, name: str, args: GitHubEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, opts)
        protection = args.protection
        self.provider = github.Provider(f"{name}-provider", owner=args.owner, opts=self.child_opts())
        on_github = self.child_opts(pulumi.ResourceOptions(provider=self.provider))

        environment = github.RepositoryEnvironment(
            f"{name}-environment",
            repository=args.repository,
            environment=args.environment.value,
            deployment_branch_policy=_deployment_branch_policy(protection.deployments),
            reviewers=self._reviewers(args),
            prevent_self_review=protection.requires_reviewers,
            can_admins_bypass=protection.admins_can_bypass,
            wait_timer=args.wait_timer_minutes,
            opts=on_github,
        )
        # Everything below names the environment through its output, so it is created after it.
        in_environment = pulumi.ResourceOptions.merge(
            on_github, pulumi.ResourceOptions(depends_on=[environment])
        )
        self._deployment_policies(name, args, protection.deployments, environment, in_environment)

        # Secrets and variables are identified by (repository, environment, name): a replacement
        # that created the new one before deleting the old would delete what it just wrote.
        by_name = pulumi.ResourceOptions.merge(
            in_environment, pulumi.ResourceOptions(delete_before_replace=True)
        )
        secrets = {
            "AZURE_CLIENT_ID": args.azure_client_id,
            "AZURE_TENANT_ID": args.azure_tenant_id,
            "AZURE_SUBSCRIPTION_ID": args.azure_subscription_id,
            **args.extra_secrets,
        }
        for secret_name, value in sorted(secrets.items()):
            github.ActionsEnvironmentSecret(
                f"{name}-secret-{_slug(secret_name)}",
                repository=args.repository,
                environment=environment.environment,
                secret_name=secret_name,
                value=pulumi.Output.secret(value),
                opts=by_name,
            )
        variables = {
            "PULUMI_STACK": args.environment.value,
            "AZURE_RESOURCE_GROUP": args.azure_resource_group,
            "DATABRICKS_HOST": args.databricks_host,
            **args.extra_variables,
        }
        for variable_name, value in sorted(variables.items()):
            github.ActionsEnvironmentVariable(
                f"{name}-variable-{_slug(variable_name)}",
                repository=args.repository,
                environment=environment.environment,
                variable_name=variable_name,
                value=value,
                opts=by_name,
            )

        self.environment_name = environment.environment
        self.secret_names = pulumi.Output.from_input(sorted(secrets))
        self.variable_names = pulumi.Output.from_input(sorted(variables))
        self.register(
            environment_name=self.environment_name,
            secret_names=self.secret_names,
            variable_names=self.variable_names,
        )

    def _reviewers(
        self, args: GitHubEnvironmentArgs
    ) -> list[github.RepositoryEnvironmentReviewerArgs] | None:
        """GitHub wants numeric ids: logins and team slugs are looked up through the same provider."""
        if not (args.reviewer_users or args.reviewer_teams):
            return None
        lookup = pulumi.InvokeOutputOptions(parent=self, provider=self.provider)
        users: list[pulumi.Input[int]] = [
            user
            if isinstance(user, int)
            else github.get_user_output(username=user, opts=lookup).id.apply(int)
            for user in args.reviewer_users
        ]
        teams: list[pulumi.Input[int]] = [
            team if isinstance(team, int) else github.get_team_output(slug=team, opts=lookup).id.apply(int)
            for team in args.reviewer_teams
        ]
        return [github.RepositoryEnvironmentReviewerArgs(users=users or None, teams=teams or None)]

    @staticmethod
    def _deployment_policies(
        name: str,
        args: GitHubEnvironmentArgs,
        rule: DeploymentRule | None,
        environment: github.RepositoryEnvironment,
        opts: pulumi.ResourceOptions,
    ) -> None:
        if rule is None:
            return
        patterns = [("branch", p) for p in rule.branch_patterns] + [("tag", p) for p in rule.tag_patterns]
        for kind, pattern in patterns:
            # Logical name from the pattern: stable while the table entry stays.
            suffix = re.sub(r"[^a-z0-9]+", "-", pattern.lower()).strip("-") or "all"
            github.RepositoryEnvironmentDeploymentPolicy(
                f"{name}-{kind}-{suffix}",
                repository=args.repository,
                environment=environment.environment,
                branch_pattern=pattern if kind == "branch" else None,
                tag_pattern=pattern if kind == "tag" else None,
                opts=opts,
            )
