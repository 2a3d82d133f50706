"""Identities: no Owner grants, and CI federation only from this repository's four environments."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .context import ENVIRONMENTS, PolicyContext

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"

# Built-in roles no platform identity may hold: they can grant themselves anything.
FORBIDDEN_ROLE_IDS: Mapping[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
}

GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"
ENTRA_TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"  # noqa: S105 - an audience, not a token
# Only GitHub *environment* subjects: branch, tag and pull_request subjects bypass reviewers.
ENVIRONMENT_SUBJECT = re.compile(r"^repo:(?P<repository>[^/:]+/[^/:]+):environment:(?P<environment>[^:]+)$")


def check_no_forbidden_role(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    role_definition = str(props.get("roleDefinitionId") or "").lower().rstrip("/")
    for role_id, role_name in FORBIDDEN_ROLE_IDS.items():
        if role_definition.endswith(role_id):
            principal = props.get("principalId", "a platform identity")
            return [f"grants the {role_name} role to {principal}: use a narrower built-in role"]
    return []


def check_federated_credential(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    violations: list[str] = []
    if props.get("issuer") != GITHUB_OIDC_ISSUER:
        violations.append(f"issuer is {props.get('issuer')!r}, expected {GITHUB_OIDC_ISSUER}")
    audiences = props.get("audiences")
    if not isinstance(audiences, Sequence) or list(audiences) != [ENTRA_TOKEN_EXCHANGE_AUDIENCE]:
        violations.append(f"audiences must be exactly [{ENTRA_TOKEN_EXCHANGE_AUDIENCE!r}]")
    subject = str(props.get("subject") or "")
    match = ENVIRONMENT_SUBJECT.match(subject)
    if match is None:
        return [*violations, f"subject {subject!r} is not repo:<owner>/<repo>:environment:<env>"]
    environment = match["environment"]
    if environment not in ENVIRONMENTS:
        violations.append(f"subject environment {environment!r} is not one of {', '.join(ENVIRONMENTS)}")
    elif context.environment is not None and environment != context.environment:
        violations.append(
            f"subject environment {environment!r} differs from this stack's {context.environment!r}"
        )
    if context.github_repository is None:
        violations.append("cannot verify the subject's repository: configure githubRepository (owner/repo)")
    elif match["repository"].lower() != context.github_repository.lower():
        violations.append(
            f"subject repository {match['repository']!r} is not this repository {context.github_repository!r}"
        )
    return violations
