"""The GitHub Actions OIDC claims an Azure federated credential must match, in one place.

Its users: ``infra/identity.py`` puts the environment subject, issuer and audience on the deployer
identity's federated credential, and ``infra/bootstrap_access.py`` the preview identities'
subjects. A job bound to the GitHub environment of the same name (the bootstrap creates it)
presents exactly that subject. The policy pack (policy/identity.py) checks a federated credential
against the same issuer, audience and subject shape. It lives in the bottom layer, stdlib only, so
that the pack can import it from its own virtualenv.

Every subject ends with ``job_workflow_ref``, the reusable workflow at main the job runs
(core/deployments.py says why): the repository's subject template (``SUBJECT_CLAIM_KEYS``, set by
the bootstrap) makes GitHub issue ``repo:<owner>/<repo>:<context>:job_workflow_ref:<owner>/<repo>/
<workflow>@refs/heads/main`` (GitHub docs, "OpenID Connect reference": "repo:octo-org/octo-repo:
environment:prod:job_workflow_ref:octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main").
"""

from __future__ import annotations

import re

from core.deployments import DEPLOY_WORKFLOW, PR_PREVIEW_WORKFLOW, TRUSTED_REF

# Issuer and audience of the token GitHub mints for a job with `id-token: write`.
GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
AZURE_FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
# The repository's OIDC subject template (GitHub REST, "Set the customization template for an OIDC
# subject claim for a repository"): the default `repo` and `context`, plus the workflow.
SUBJECT_CLAIM_KEYS: tuple[str, ...] = ("repo", "context", "job_workflow_ref")

# GitHub owners: letters, digits, single hyphens. Repositories: letters, digits, `.`, `_`, `-`.
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
# Environment names become part of a colon-separated claim: no colon, no surrounding spaces.
_ENVIRONMENT = re.compile(r"^[^:\s](?:[^:]{0,253}[^:\s])?$")


def _checked(value: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{what} {value!r} cannot appear in a GitHub OIDC subject ({pattern.pattern})")
    return value


def _repository_claim(owner: str, repository: str) -> str:
    return f"repo:{_checked(owner, _OWNER, 'owner')}/{_checked(repository, _REPOSITORY, 'repository')}"


def workflow_claim(owner: str, repository: str, workflow: str) -> str:
    """The ``job_workflow_ref`` of a job that runs ``workflow`` of this repository at main."""
    return f"{owner}/{repository}/{workflow}@{TRUSTED_REF}"


def oidc_subject(owner: str, repository: str, environment: str, workflow: str = DEPLOY_WORKFLOW) -> str:
    """The ``sub`` claim of a job that runs in ``environment`` of ``owner/repository``, in main's
    ``workflow``.

    Azure compares it case-sensitively with the federated credential's subject, so pass the
    names exactly as GitHub spells them.
    """
    environment_claim = _checked(environment, _ENVIRONMENT, "environment")
    repository_claim = _repository_claim(owner, repository)
    return (
        f"{repository_claim}:environment:{environment_claim}"
        f":job_workflow_ref:{workflow_claim(owner, repository, workflow)}"
    )


def pull_request_subject(owner: str, repository: str, workflow: str = PR_PREVIEW_WORKFLOW) -> str:
    """The ``sub`` claim of a ``pull_request`` job bound to no environment (PR previews), in main's
    ``workflow``."""
    repository_claim = _repository_claim(owner, repository)
    return f"{repository_claim}:pull_request:job_workflow_ref:{workflow_claim(owner, repository, workflow)}"
