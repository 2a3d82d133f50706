"""The bootstrap's backend: what a pull request's code can reach through the PR-preview identity.

A pull request's own code (its Makefile, its program) runs with the token of the identity federated
for ``repo:<owner>/<repo>:pull_request``. That identity may read the state of, and decrypt the key
of, only the environments a pull request previews (core/deployments.py, ``PULL_REQUEST_PREVIEWS``),
never a production-like one (``core.environment.PRODUCTION_LIKE``, which this rule checks on its
own): decrypting is not read-only, and a uat or prod key would hand the pull request their secrets. A
role on anything but one environment's key or container (the vault, the account, the group) would
reach every environment, and is refused too.

An assignment that depends on several identities names one as its principal and the others in its
condition (a deployer's RBAC administration pins the preview identity as the one principal of
Reader, infra/identity.py): its grantee is the identity whose ``principalId`` it carries. A preview
of a new organisation knows no principal id yet; such an assignment is judged by ``pulumi up``,
where the stack rules see the created identities' ids.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.backend import environment_served
from core.environment import PRODUCTION_LIKE

from .context import PolicyContext
from .identity import FEDERATED_CREDENTIAL, PULL_REQUEST_SUBJECT, ROLE_ASSIGNMENT
from .stack_rule import StackResource, of_type

IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
KEY = "azure-native:keyvault:Key"
CONTAINER = "azure-native:storage:BlobContainer"


def check_pull_request_reach(
    resources: Sequence[StackResource], context: PolicyContext
) -> list[tuple[str, str]]:
    """No identity a pull_request token can assume holds a role on a uat or prod key or state."""
    identities = {r.urn for r in of_type(resources, IDENTITY)}
    trusted = {
        dependency
        for credential in of_type(resources, FEDERATED_CREDENTIAL)
        if PULL_REQUEST_SUBJECT.match(str(credential.props.get("subject") or ""))
        for dependency in credential.dependencies
        if dependency in identities
    }
    served = {
        r.urn: environment_served(r.props.get("keyName") or r.props.get("containerName"))
        for r in resources
        if r.type in (KEY, CONTAINER)
    }
    violations: list[tuple[str, str]] = []
    principals = {r.urn: r.props.get("principalId") for r in of_type(resources, IDENTITY)}
    for assignment in of_type(resources, ROLE_ASSIGNMENT):
        if not trusted & set(assignment.dependencies):
            continue
        grantees = [principals[d] for d in assignment.dependencies if d in identities]
        grantee = assignment.props.get("principalId")
        if len(grantees) > 1 and grantee not in {
            principals[d] for d in trusted & set(assignment.dependencies)
        }:
            continue  # the trusted identity is named in its condition, not granted the role
        scopes = [served[d] for d in assignment.dependencies if d in served]
        if not scopes or None in scopes:
            violations.append(
                (
                    assignment.urn,
                    "gives the pull requests' identity a role on something other than one environment's "
                    "key or state container: it would reach every environment",
                )
            )
        elif reached := sorted(str(env) for env in scopes if env in PRODUCTION_LIKE):
            violations.append(
                (
                    assignment.urn,
                    f"gives the pull requests' identity a role on {', '.join(reached)}'s key or state: "
                    "a pull request's code could read and decrypt it",
                )
            )
    return violations
