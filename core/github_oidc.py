"""The GitHub Actions OIDC claims an Azure federated credential must match, in one place.

Its users: ``infra/identity.py`` puts the environment subject, issuer and audience on the deployer
identity's federated credential, and ``infra/bootstrap_access.py`` the ``pull_request`` subject on
the preview identity's. A job bound to the GitHub environment of the same name (``infra/github.py``
creates it) presents exactly that subject. The policy pack (policy/identity.py) checks a federated
credential against the same issuer and audience. It lives in the bottom layer, stdlib only, so that
the pack can import it from its own virtualenv.
"""

from __future__ import annotations

import re

# Issuer and audience of the token GitHub mints for a job with `id-token: write`.
GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
AZURE_FEDERATION_AUDIENCE = "api://AzureADTokenExchange"

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


def oidc_subject(owner: str, repository: str, environment: str) -> str:
    """The ``sub`` claim of a job that runs in ``environment`` of ``owner/repository``.

    Azure compares it case-sensitively with the federated credential's subject, so pass the
    names exactly as GitHub spells them.
    """
    environment_claim = _checked(environment, _ENVIRONMENT, "environment")
    return f"{_repository_claim(owner, repository)}:environment:{environment_claim}"


def pull_request_subject(owner: str, repository: str) -> str:
    """The ``sub`` claim of a ``pull_request`` job that is bound to no environment (PR previews)."""
    return f"{_repository_claim(owner, repository)}:pull_request"
