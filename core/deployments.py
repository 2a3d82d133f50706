"""Who may run a job in each GitHub environment, and which reusable workflow every cloud login runs.

The bootstrap creates the environments from ``DEPLOYMENT_RULES`` (infra/github.py), the workflows'
triggers and matrices are compared with it (tests/workflows), and the OIDC subjects every
federated credential trusts name ``TRUSTED_WORKFLOWS`` at ``TRUSTED_REF`` (core/github_oidc.py).

Why a workflow at a fixed ref: a workflow file comes from the ref that runs it, so a check written
in the deployed branch or tag (is this commit on main?) is code that branch's author controls.
GitHub puts the called reusable workflow's path and ref into the OIDC token's
``job_workflow_ref`` claim, and the repository's subject template adds that claim to ``sub``
(GitHub docs, "OpenID Connect reference", customizing the subject claims: ``repo``, ``context``,
``job_workflow_ref``). Azure compares ``sub`` exactly, so a cloud token exists only for a job that
runs main's copy of these workflows, whatever workflow file the triggering ref carries.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_framework.vocabulary import Environment

from core.branches import RELEASE_BRANCHES

TRUSTED_REF = "refs/heads/main"
MAIN = TRUSTED_REF.removeprefix("refs/heads/")  # the one branch reviewed changes reach
# Every deploy (`pulumi up`, in the stack's own environment) runs this one.
DEPLOY_WORKFLOW = ".github/workflows/pulumi-up.yml"
# The post-merge preview of a production-like stack, in its `<stack>-preview` environment.
RELEASE_PREVIEW_WORKFLOW = ".github/workflows/release-preview.yml"
# Pull requests' previews, bound to no environment.
PR_PREVIEW_WORKFLOW = ".github/workflows/pr-preview.yml"
TRUSTED_WORKFLOWS: tuple[str, ...] = (DEPLOY_WORKFLOW, RELEASE_PREVIEW_WORKFLOW, PR_PREVIEW_WORKFLOW)
RELEASE_TAGS = "v*"

# What a pull request's own code may preview: read the state of, and decrypt the key of. uat and
# prod are previewed after merge, by an identity no pull_request token can assume.
PULL_REQUEST_PREVIEWS: tuple[Environment, ...] = (Environment.SANDBOX, Environment.DEV)
RELEASE_PREVIEWS: tuple[Environment, ...] = (Environment.UAT, Environment.PROD)


def preview_environment(environment: Environment) -> str:
    """The GitHub environment of a stack's post-merge preview (release-preview.yml)."""
    return f"{environment.value}-preview"


# prod's, which runs before the prod reviewers approve (promote.yml); the one that exists.
PROD_PREVIEW = preview_environment(Environment.PROD)


@dataclass(frozen=True)
class DeploymentRule:
    """One GitHub environment: the refs that may run a job in it, and whether a reviewer must approve."""

    branches: tuple[str, ...]
    tags: tuple[str, ...] = ()
    requires_reviewers: bool = False
    admins_can_bypass: bool = False


DEPLOYMENT_RULES: dict[str, DeploymentRule] = {
    # Nothing deploys sandbox from CI (a person does, with their own login); main only, so that no
    # writer's branch runs with its deployer.
    Environment.SANDBOX.value: DeploymentRule(branches=(MAIN,)),
    Environment.DEV.value: DeploymentRule(branches=(MAIN,)),
    # Created only by the release managers (the release-branch ruleset), deployed only when on main.
    Environment.UAT.value: DeploymentRule(branches=(RELEASE_BRANCHES,)),
    Environment.PROD.value: DeploymentRule(branches=(MAIN,), tags=(RELEASE_TAGS,), requires_reviewers=True),
    PROD_PREVIEW: DeploymentRule(branches=(MAIN,), tags=(RELEASE_TAGS,)),
}


def deploy_environment(environment: Environment) -> str:
    """The GitHub environment a stack's deployer runs in: the stack's name."""
    return environment.value
