"""The repository's own settings CI relies on, as pulumi-github resources; only the bootstrap, run by
a person, manages them (no CI job holds a token that could).

- the repository-level Actions secrets the pull request previews read (the PR-preview identity's
  ids); everything else a job reads is an environment's (infra/github.py) or its stack file's;
- ``main``: changes arrive by pull request with approvals, a code owner's among them
  (.github/CODEOWNERS), and the PR checks green; no force-push, no deletion, nobody bypasses;
- ``release/*`` branches and ``v*`` tags, the refs uat and prod deploy from: only the release
  managers may create, move or delete them. Rulesets' ``creation`` rule: "Only allow users with
  bypass permission to create matching refs" (pulumi-github ``RepositoryRulesetRulesArgs``). What
  they point at is checked where they cannot change it: a deploy runs main's copy of the workflow,
  which refuses a commit that is not on main (core/deployments.py);
- the OIDC subject template that puts the reusable workflow and its ref into every token's ``sub``
  (``ActionsRepositoryOidcSubjectClaimCustomizationTemplate``; core/github_oidc.py);
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
from core.deployments import MAIN, RELEASE_TAGS
from core.github_oidc import SUBJECT_CLAIM_KEYS
from infra.base import ComponentArgs, PlatformComponent, StrInput

REVIEWED_BRANCHES: tuple[str, ...] = (f"refs/heads/{MAIN}",)
RELEASE_REFS: dict[str, tuple[str, str]] = {
    # ruleset logical-name part -> (target, ref pattern); creating, moving and deleting them is
    # the release managers' alone (their bypass), a branch is never force-pushed either
    "release-branches": ("branch", f"refs/heads/{RELEASE_BRANCHES}"),
    "release-tags": ("tag", f"refs/tags/{RELEASE_TAGS}"),
}
_NAME = re.compile(r"^(?!GITHUB_)[A-Z_][A-Z0-9_]*$")


class GithubActor(ComponentArgs):
    """A team slug or a user login (looked up to its numeric id)."""

    kind: str = Field(pattern="^(team|user)$", description="team or user")
    name: str = Field(min_length=1, description="team slug in the owner organisation, or user login")


def actor_id(actor: GithubActor, parent: pulumi.Resource, provider: github.Provider) -> pulumi.Output[int]:
    """Rulesets and environments want numeric ids: looked up through the same provider."""
    lookup = pulumi.InvokeOutputOptions(parent=parent, provider=provider)
    found = (
        github.get_team_output(slug=actor.name, opts=lookup)
        if actor.kind == "team"
        else github.get_user_output(username=actor.name, opts=lookup)
    )
    return found.id.apply(int)


class RepositorySettingsArgs(ComponentArgs):
    owner: str = Field(min_length=1, description="GitHub organisation or user owning the repository")
    repository: str = Field(min_length=1, description="repository name, without the owner")
    secrets: Mapping[str, StrInput] = Field(description="repository Actions secrets, name -> value")
    required_checks: tuple[str, ...] = Field(min_length=1, description="status checks a PR must pass")
    required_approvals: int = Field(ge=1, le=10, description="approving reviews a PR needs")
    release_managers: tuple[GithubActor, ...] = Field(
        min_length=1, description="who may create, move or delete release branches and tags"
    )


class RepositorySettings(PlatformComponent):
    AREA: ClassVar[str] = "bootstrap"

    provider: github.Provider
    secret_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: RepositorySettingsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        bad = sorted(n for n in args.secrets if not _NAME.fullmatch(n))
        if bad:
            raise ValueError(f"{bad}: names are UPPER_SNAKE_CASE and must not start with GITHUB_")
        self.provider = provider = github.Provider(
            f"{name}-provider", owner=args.owner, opts=self.child_opts()
        )
        on_github = self.child_opts(pulumi.ResourceOptions(provider=provider))
        # Identified by (repository, name): a replacement must delete the old one first.
        by_name = pulumi.ResourceOptions.merge(on_github, pulumi.ResourceOptions(delete_before_replace=True))
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
            conditions=_refs(REVIEWED_BRANCHES),
            rules=github.RepositoryRulesetRulesArgs(
                deletion=True,
                non_fast_forward=True,
                pull_request=github.RepositoryRulesetRulesPullRequestArgs(
                    required_approving_review_count=args.required_approvals,
                    # One of them a code owner's where .github/CODEOWNERS names the changed files.
                    require_code_owner_review=True,
                    dismiss_stale_reviews_on_push=True,
                    require_last_push_approval=True,
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
        managers = [
            github.RepositoryRulesetBypassActorArgs(
                actor_type="Team" if actor.kind == "team" else "User",
                actor_id=actor_id(actor, self, provider),
                bypass_mode="always",
            )
            for actor in args.release_managers
        ]
        for part, (target, pattern) in RELEASE_REFS.items():
            github.RepositoryRuleset(
                f"{name}-{part}",
                name=part.replace("-", " "),
                repository=args.repository,
                target=target,
                enforcement="active",
                conditions=_refs((pattern,)),
                rules=github.RepositoryRulesetRulesArgs(
                    creation=True, update=True, deletion=True, non_fast_forward=target == "branch" or None
                ),
                bypass_actors=managers,
                opts=on_github,
            )
        github.ActionsRepositoryOidcSubjectClaimCustomizationTemplate(
            f"{name}-oidc-subject",
            repository=args.repository,
            use_default=False,
            include_claim_keys=list(SUBJECT_CLAIM_KEYS),
            opts=on_github,
        )
        github.WorkflowRepositoryPermissions(
            f"{name}-workflow-permissions",
            repository=args.repository,
            default_workflow_permissions="read",
            can_approve_pull_request_reviews=False,
            opts=on_github,
        )
        self.secret_names = pulumi.Output.from_input(sorted(args.secrets))
        self.register(secret_names=self.secret_names)


def _refs(patterns: tuple[str, ...]) -> github.RepositoryRulesetConditionsArgs:
    return github.RepositoryRulesetConditionsArgs(
        ref_name=github.RepositoryRulesetConditionsRefNameArgs(includes=list(patterns), excludes=[])
    )


def _slug(name: str) -> str:
    return name.lower().replace("_", "-")
