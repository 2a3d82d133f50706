"""The repository's own settings CI relies on, as pulumi-github resources.

- the repository-level Actions variables and secrets the workflows read outside any environment
  (the backend URL, the PR-preview identity's ids);
- a ruleset on the branches that deploy (``main``, ``release/*``; core/branches.py): changes
  arrive by pull request with approvals and the PR checks green, no force-push, no deletion,
  nobody bypasses;
- a ruleset on ``v*`` tags: only the named release managers may create, move or delete them (a
  ``v*`` tag can deploy prod);
- the workflow token is read-only by default and cannot approve pull requests.

Requiring approval before workflows of fork pull requests run has no pulumi-github resource (none
in pulumi-github 6.15 manages ``actions/permissions/fork-pr-contributor-approval``): docs/ci.md
lists it as a manual step. The provider reads ``GITHUB_TOKEN`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar

import pulumi
import pulumi_github as github
from pydantic import Field

from core.branches import RELEASE_BRANCHES
from infra.base import ComponentArgs, PlatformComponent, StrInput

PROTECTED_BRANCHES: tuple[str, ...] = ("refs/heads/main", f"refs/heads/{RELEASE_BRANCHES}")
RELEASE_TAGS: tuple[str, ...] = ("refs/tags/v*",)
_NAME = re.compile(r"^(?!GITHUB_)[A-Z_][A-Z0-9_]*$")


class TagPusher(ComponentArgs):
    """Who may create, move or delete release tags: a team slug or a user login (looked up)."""

    kind: str = Field(pattern="^(team|user)$", description="team or user")
    name: str = Field(min_length=1, description="team slug in the owner organisation, or user login")


class RepositorySettingsArgs(ComponentArgs):
    owner: str = Field(min_length=1, description="GitHub organisation or user owning the repository")
    repository: str = Field(min_length=1, description="repository name, without the owner")
    variables: Mapping[str, StrInput] = Field(description="repository Actions variables, name -> value")
    secrets: Mapping[str, StrInput] = Field(description="repository Actions secrets, name -> value")
    required_checks: tuple[str, ...] = Field(min_length=1, description="status checks a PR must pass")
    required_approvals: int = Field(ge=0, le=10, description="approving reviews a PR needs")
    tag_pushers: tuple[TagPusher, ...] = Field(min_length=1, description="who may push release tags")


class RepositorySettings(PlatformComponent):
    AREA: ClassVar[str] = "bootstrap"

    variable_names: pulumi.Output[list[str]]
    secret_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: RepositorySettingsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        bad = sorted(n for n in [*args.variables, *args.secrets] if not _NAME.fullmatch(n))
        if bad:
            raise ValueError(f"{bad}: names are UPPER_SNAKE_CASE and must not start with GITHUB_")
        provider = github.Provider(f"{name}-provider", owner=args.owner, opts=self.child_opts())
        on_github = self.child_opts(pulumi.ResourceOptions(provider=provider))
        # Identified by (repository, name): a replacement must delete the old one first.
        by_name = pulumi.ResourceOptions.merge(on_github, pulumi.ResourceOptions(delete_before_replace=True))
        for variable_name, value in sorted(args.variables.items()):
            github.ActionsVariable(
                f"{name}-variable-{_slug(variable_name)}",
                repository=args.repository,
                variable_name=variable_name,
                value=value,
                opts=by_name,
            )
        for secret_name, secret_value in sorted(args.secrets.items()):
            github.ActionsSecret(
                f"{name}-secret-{_slug(secret_name)}",
                repository=args.repository,
                secret_name=secret_name,
                value=pulumi.Output.secret(secret_value),
                opts=by_name,
            )
        github.RepositoryRuleset(
            f"{name}-branches",
            name="protected branches",
            repository=args.repository,
            target="branch",
            enforcement="active",
            conditions=github.RepositoryRulesetConditionsArgs(
                ref_name=github.RepositoryRulesetConditionsRefNameArgs(
                    includes=list(PROTECTED_BRANCHES), excludes=[]
                )
            ),
            rules=github.RepositoryRulesetRulesArgs(
                deletion=True,
                non_fast_forward=True,
                pull_request=github.RepositoryRulesetRulesPullRequestArgs(
                    required_approving_review_count=args.required_approvals,
                    dismiss_stale_reviews_on_push=True,
                    require_last_push_approval=args.required_approvals > 0,
                    required_review_thread_resolution=True,
                ),
                required_status_checks=github.RepositoryRulesetRulesRequiredStatusChecksArgs(
                    required_checks=[
                        github.RepositoryRulesetRulesRequiredStatusChecksRequiredCheckArgs(context=check)
                        for check in args.required_checks
                    ],
                    strict_required_status_checks_policy=True,
                ),
            ),
            opts=on_github,
        )
        github.RepositoryRuleset(
            f"{name}-release-tags",
            name="release tags",
            repository=args.repository,
            target="tag",
            enforcement="active",
            conditions=github.RepositoryRulesetConditionsArgs(
                ref_name=github.RepositoryRulesetConditionsRefNameArgs(
                    includes=list(RELEASE_TAGS), excludes=[]
                )
            ),
            rules=github.RepositoryRulesetRulesArgs(creation=True, update=True, deletion=True),
            bypass_actors=self._tag_pushers(args.tag_pushers, provider),
            opts=on_github,
        )
        github.WorkflowRepositoryPermissions(
            f"{name}-workflow-permissions",
            repository=args.repository,
            default_workflow_permissions="read",
            can_approve_pull_request_reviews=False,
            opts=on_github,
        )
        self.variable_names = pulumi.Output.from_input(sorted(args.variables))
        self.secret_names = pulumi.Output.from_input(sorted(args.secrets))
        self.register(variable_names=self.variable_names, secret_names=self.secret_names)

    def _tag_pushers(
        self, pushers: tuple[TagPusher, ...], provider: github.Provider
    ) -> list[github.RepositoryRulesetBypassActorArgs]:
        """Rulesets want numeric ids: team slugs and logins are looked up through the same provider."""
        lookup = pulumi.InvokeOutputOptions(parent=self, provider=provider)
        actors: list[github.RepositoryRulesetBypassActorArgs] = []
        for pusher in pushers:
            found = (
                github.get_team_output(slug=pusher.name, opts=lookup)
                if pusher.kind == "team"
                else github.get_user_output(username=pusher.name, opts=lookup)
            )
            actors.append(
                github.RepositoryRulesetBypassActorArgs(
                    actor_type="Team" if pusher.kind == "team" else "User",
                    actor_id=found.id.apply(int),
                    bypass_mode="always",
                )
            )
        return actors


def _slug(name: str) -> str:
    return name.lower().replace("_", "-")
