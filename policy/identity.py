"""Identities: no Owner grants, CI federation only from this repository, the bootstrap's grants (data
plane on the backend; each deployer's roles on its environment's subscription), and no identity able
to extend its own trust."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.azure_roles import IDENTITY_SELF_ACTIONS, ROLE_DEFINITION_IDS
from core.deployments import (
    DEPLOY_WORKFLOW,
    PR_PREVIEW_WORKFLOW,
    PROD_PREVIEW,
    RELEASE_PREVIEW_WORKFLOW,
    TRUSTED_REF,
)
from core.environment import Environment
from core.github_oidc import AZURE_FEDERATION_AUDIENCE, GITHUB_OIDC_ISSUER

from .context import PolicyContext, environment_named

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
CONTRIBUTOR_ROLE_ID = ROLE_DEFINITION_IDS["Contributor"]
RBAC_ADMIN_ROLE_ID = ROLE_DEFINITION_IDS["Role Based Access Control Administrator"]

# Built-in roles no platform identity may hold: they can grant themselves anything.
FORBIDDEN_ROLE_IDS: Mapping[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
}

# What the bootstrap project may grant, by role id: data-plane roles on the state backend only.
BOOTSTRAP_ROLE_IDS: Mapping[str, str] = {
    ROLE_DEFINITION_IDS[name]: name
    for name in ("Storage Blob Data Reader", "Storage Blob Data Contributor", "Key Vault Crypto User")
}

# A subscription, the only scope at which the bootstrap grants control-plane roles: each deployer's
# custom role and its constrained RBAC administration (infra/bootstrap_deployer.py).
SUBSCRIPTION_SCOPE = re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}$")
BUILT_IN_ROLE_IDS = frozenset(ROLE_DEFINITION_IDS.values())

# Only GitHub *environment* subjects federate a deployer: branch, tag and pull_request subjects
# bypass reviewers. The bootstrap federates each environment's deployer, the pull_request subject
# (the PR-preview identity) and the prod-preview environment's (the release preview identity),
# nothing else. Every subject pins main's copy of the reusable workflow the job must run
# (core/deployments.py).
ENVIRONMENT_SUBJECT = re.compile(
    r"^repo:(?P<repository>[^/:]+/[^/:]+):environment:(?P<environment>[^:]+):job_workflow_ref:(?P<workflow>.+)$"
)
PULL_REQUEST_SUBJECT = re.compile(
    r"^repo:(?P<repository>[^/:]+/[^/:]+):pull_request:job_workflow_ref:(?P<workflow>.+)$"
)


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
    if not isinstance(audiences, Sequence) or list(audiences) != [AZURE_FEDERATION_AUDIENCE]:
        violations.append(f"audiences must be exactly [{AZURE_FEDERATION_AUDIENCE!r}]")
    subject = str(props.get("subject") or "")
    match, workflow = _subject_match(subject, context)
    if match is None:
        shapes = (
            "repo:<owner>/<repo>:environment:<env>:job_workflow_ref:<owner>/<repo>/<workflow>@" + TRUSTED_REF
        )
        if context.is_bootstrap:
            shapes += ", or the same with pull_request instead of environment:<env> (bootstrap)"
        return [*violations, f"subject {subject!r} is not {shapes}"]
    if match.re is ENVIRONMENT_SUBJECT:
        violations += _environment_problems(match["environment"], context)
    if context.github_repository is None:
        violations.append("cannot verify the subject's repository: configure githubRepository (owner/repo)")
        return violations
    repository = context.github_repository
    if match["repository"].lower() != repository.lower():
        violations.append(f"subject repository {match['repository']!r} is not this repository {repository!r}")
    expected = f"{match['repository']}/{workflow}@{TRUSTED_REF}"
    if match["workflow"] != expected:
        violations.append(
            f"subject trusts workflow {match['workflow']!r}, not {expected!r}: a token must come from "
            "main's copy of the reusable workflow, which checks what it deploys"
        )
    return violations


def _subject_match(subject: str, context: PolicyContext) -> tuple[re.Match[str] | None, str]:
    """The subject's match and the workflow it must pin, by project and subject kind."""
    environment = ENVIRONMENT_SUBJECT.match(subject)
    if not context.is_bootstrap:
        return environment, DEPLOY_WORKFLOW
    if environment is not None and environment["environment"] == PROD_PREVIEW:
        return environment, RELEASE_PREVIEW_WORKFLOW  # the release preview identity
    if environment is not None:
        # Each environment's deployer (infra/bootstrap_deployer.py), for its deploy jobs.
        return (environment if environment_named(environment["environment"]) else None), DEPLOY_WORKFLOW
    return PULL_REQUEST_SUBJECT.match(subject), PR_PREVIEW_WORKFLOW


def _environment_problems(environment: str, context: PolicyContext) -> list[str]:
    if context.is_bootstrap:
        return []  # prod-preview, checked by _subject_match
    if environment_named(environment) is None:
        return [f"subject environment {environment!r} is not one of {', '.join(Environment)}"]
    if context.environment is not None and environment != context.environment:
        return [f"subject environment {environment!r} differs from this stack's {context.environment!r}"]
    return []


def check_bootstrap_role(resource_type: str, props: Mapping[str, Any], context: PolicyContext) -> list[str]:
    """The bootstrap grants data-plane access to the backend (state blobs and stack keys), and at a
    subscription scope only a deployer's custom role or RBAC administration (which
    ``no-identity-extends-its-trust`` constrains)."""
    if not context.is_bootstrap:
        return []
    role_definition = str(props.get("roleDefinitionId") or "").lower().rstrip("/")
    if any(role_definition.endswith(role_id) for role_id in BOOTSTRAP_ROLE_IDS):
        return []
    role_guid = role_definition.rsplit("/", 1)[-1]
    deployer_role = role_guid == RBAC_ADMIN_ROLE_ID or role_guid not in BUILT_IN_ROLE_IDS
    if deployer_role and SUBSCRIPTION_SCOPE.fullmatch(str(props.get("scope") or "")):
        return []
    allowed = ", ".join(sorted(BOOTSTRAP_ROLE_IDS.values()))
    return [
        f"grants {role_guid or 'no role'} at {props.get('scope')!r}: the bootstrap grants only {allowed} "
        "on the backend, and a deployer's custom role or RBAC administration on a subscription"
    ]


def _grants_identity_writes(actions: object) -> bool:
    wanted = ("*", "Microsoft.ManagedIdentity/*", "Microsoft.ManagedIdentity/userAssignedIdentities/*")
    return isinstance(actions, Sequence) and any(
        str(action) in wanted or str(action) in IDENTITY_SELF_ACTIONS for action in actions
    )


def check_no_self_extension(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    """No identity may widen or outlive its own access: Contributor writes the federated credentials
    of identities in its scope, a role with ``*`` must leave them out, and delegated role assignment
    must name the principals it may assign to, not only the roles."""
    if resource_type == ROLE_DEFINITION:
        violations = []
        for permission in props.get("permissions") or []:
            if not isinstance(permission, Mapping) or not _grants_identity_writes(permission.get("actions")):
                continue
            missing = sorted(set(IDENTITY_SELF_ACTIONS) - set(permission.get("notActions") or []))
            if missing:
                violations.append(
                    f"grants {', '.join(missing)}: an identity in its scope could trust itself anew"
                )
        return violations
    role_definition = str(props.get("roleDefinitionId") or "").lower().rstrip("/")
    if role_definition.endswith(CONTRIBUTOR_ROLE_ID):
        return [
            "grants Contributor, which writes federated credentials and attaches identities in its scope: "
            "use a role that leaves them out (infra/identity.py, the deployer role)"
        ]
    if role_definition.endswith(RBAC_ADMIN_ROLE_ID):
        return _delegation_problems(str(props.get("condition") or ""))
    return []


# A write clause: a role and the principal (or, for a principal born later, the type) it may go to.
_WRITE_PAIR = re.compile(
    r"\(@Request\[Microsoft\.Authorization/roleAssignments:RoleDefinitionId\] ForAnyOfAnyValues:GuidEquals "
    r"\{[0-9a-fA-F-]+\} AND @Request\[Microsoft\.Authorization/roleAssignments:"
    r"(?:PrincipalId\] ForAnyOfAnyValues:GuidEquals \{[0-9a-fA-F-]+\}"
    r"|PrincipalType\] ForAnyOfAnyValues:StringEqualsIgnoreCase \{'ServicePrincipal'\})\)"
)


def _delegation_problems(condition: str) -> list[str]:
    """Every clause that allows a write pins a role to one principal, or to service principals."""
    write = condition.split(
        " AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'}))", maxsplit=1
    )[0]
    prefix = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR ("
    body = write.removeprefix(prefix).removesuffix("))") if write.startswith(prefix) else ""
    clauses = body.split(" OR ") if body else []
    if not clauses or not all(_WRITE_PAIR.fullmatch(clause) for clause in clauses):
        return [
            "delegates role assignment without constraining the principals: each role must be pinned to "
            "one principal (roleAssignments:PrincipalId) or to service principals (PrincipalType): "
            "it could grant anyone a role"
        ]
    return []
