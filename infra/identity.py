"""The deployer's rights: a user-assigned identity CI logs in as by GitHub OIDC, with least privilege.

No client secret exists (docs/traps.md: no-client-secret): GitHub's token for a job bound to the
environment is exchanged for an Azure token through the federated credential. The bootstrap
creates each environment's deployer (infra/bootstrap_deployer.py) and gives it, on the
environment's subscription:

- a custom *deployer role*: Contributor's actions and not-actions (Azure built-in roles, "General":
  Contributor) minus what would let it keep or widen its access beyond one CI job: writing or
  deleting federated credentials (it could trust a subject of its own choosing), writing the
  identity, and attaching identities to compute it creates (``userAssignedIdentities/assign/action``:
  a VM holding the deployer's identity would keep its token after the job ends);
- *Role Based Access Control Administrator* under an ABAC condition (Azure ABAC, "Authorization
  actions and attributes": ``roleAssignments/write`` offers the request attributes role definition
  id, principal id and principal type, ``roleAssignments/delete`` the resource attribute role
  definition id): it may write an assignment only of a role in ``DELEGATIONS`` and only to the
  principal that role is for (the PR-preview identity, itself), or for the access connector, whose
  identity does not exist yet, to a service principal (``PINNED_BY_TYPE``); and delete only
  assignments of those roles.

The environment stack grants it *Key Vault Secrets Officer* on its vault (``DeployerIdentity``), a
delegated role it may give itself. This module holds what both projects share.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from enum import StrEnum

import pulumi
from pulumi_azure_native import authorization, managedidentity
from pydantic import Field

from core.azure_roles import IDENTITY_SELF_ACTIONS, ROLE_DEFINITION_IDS
from core.github_oidc import AZURE_FEDERATION_AUDIENCE, GITHUB_OIDC_ISSUER
from infra.base import ComponentArgs, PlatformComponent, StrInput


class Delegate(StrEnum):
    """Who the deployer may hand a role to."""

    ACCESS_CONNECTOR = "access connector"  # its storage role (infra/workspace.py)
    PREVIEW = "preview identity"  # Reader on the group (infra/preview_access.py)
    DEPLOYER = "deployer"  # its own vault role, should the vault be replaced


# The only roles the deployer may hand out, each to one principal.
DELEGATIONS: dict[str, Delegate] = {
    "Storage Blob Data Contributor": Delegate.ACCESS_CONNECTOR,
    "Reader": Delegate.PREVIEW,
    "Key Vault Secrets Officer": Delegate.DEPLOYER,
}
# Contributor's not-actions (Azure built-in roles, General, Contributor), then what keeps the
# deployer from extending its own trust (module docstring).
CONTRIBUTOR_NOT_ACTIONS: tuple[str, ...] = (
    "Microsoft.Authorization/*/Delete",
    "Microsoft.Authorization/*/Write",
    "Microsoft.Authorization/elevateAccess/Action",
    "Microsoft.Blueprint/blueprintAssignments/write",
    "Microsoft.Blueprint/blueprintAssignments/delete",
    "Microsoft.Compute/galleries/share/action",
    "Microsoft.Purview/consents/write",
    "Microsoft.Purview/consents/delete",
    "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
)
DEPLOYER_ROLE_NOT_ACTIONS = CONTRIBUTOR_NOT_ACTIONS + IDENTITY_SELF_ACTIONS
# Deterministic role assignment names: known at plan time, stable across runs.
_ASSIGNMENT_NAMESPACE = uuid.UUID("6f1c2b1e-9a4d-4c1e-8f3a-2d5b7e9c0a11")


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    guid = ROLE_DEFINITION_IDS[role]
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", guid
    )


def role_assignment_name(*parts: str) -> str:
    return str(uuid.uuid5(_ASSIGNMENT_NAMESPACE, "/".join(parts)))


# Who a delegated role may go to, when the principal cannot be named in advance: the access
# connector's system-assigned identity is born at the environment's first deploy, after the
# bootstrap wrote the condition. Its pair is pinned to the principal *type* instead (Azure ABAC,
# "Authorization actions and attributes": roleAssignments/write offers the request attribute
# ``Microsoft.Authorization/roleAssignments:PrincipalType``); docs/security.md, residual risks.
PINNED_BY_TYPE: dict[Delegate, str] = {Delegate.ACCESS_CONNECTOR: "ServicePrincipal"}
_ATTRIBUTE = "Microsoft.Authorization/roleAssignments"


def _write_clause(role: str, delegate: Delegate, principals: Mapping[Delegate, str]) -> str:
    request = f"@Request[{_ATTRIBUTE}"
    role_id = f"{request}:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{ROLE_DEFINITION_IDS[role]}}}"
    if delegate in PINNED_BY_TYPE:
        kind = PINNED_BY_TYPE[delegate]
        who = f"{request}:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {{'{kind}'}}"
    else:
        who = f"{request}:PrincipalId] ForAnyOfAnyValues:GuidEquals {{{principals[delegate]}}}"
    return f"({role_id} AND {who})"


def delegation_condition(principals: Mapping[Delegate, str]) -> str:
    """ABAC condition: write an assignment only of a ``DELEGATIONS`` role to its own principal (or,
    for ``PINNED_BY_TYPE``, principal type); delete only assignments of those roles (deleting never
    widens access)."""
    pairs = " OR ".join(_write_clause(role, delegate, principals) for role, delegate in DELEGATIONS.items())
    roles = ", ".join(ROLE_DEFINITION_IDS[role] for role in DELEGATIONS)
    return (
        f"((!(ActionMatches{{'{_ATTRIBUTE}/write'}})) OR ({pairs}))"
        f" AND ((!(ActionMatches{{'{_ATTRIBUTE}/delete'}})) OR "
        f"(@Resource[{_ATTRIBUTE}:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{roles}}}))"
    )


def github_federated_identity(
    parent: PlatformComponent,
    identity_logical_name: str,
    credential_logical_name: str,
    *,
    identity_name: str,
    resource_group_name: StrInput,
    location: str,
    tags: dict[str, str],
    credential_name: str,
    subject: str,
    retain_on_delete: bool = False,
    import_id: str | None = None,
    provider: pulumi.ProviderResource | None = None,
) -> managedidentity.UserAssignedIdentity:
    """A user-assigned identity that GitHub Actions logs in as, for one OIDC subject only.

    ``retain_on_delete``: when the pair leaves this stack's program, Pulumi forgets it without
    deleting it in Azure (pulumi/pulumi ``pkg/resource/deploy/step.go``, ``DeleteStep.Apply``: a
    retained resource's delete is a no-op; only ``protect`` is checked before, and fails).
    ``import_id``: adopt the existing identity with that ARM id (and its credential) instead of
    creating one (pulumi docs, "Resource option: import"); once in the state the option is inert.
    """
    kept = pulumi.ResourceOptions(retain_on_delete=retain_on_delete, import_=import_id, provider=provider)
    identity = managedidentity.UserAssignedIdentity(
        identity_logical_name,
        resource_name_=identity_name,
        resource_group_name=resource_group_name,
        location=location,
        tags=tags,
        opts=parent.child_opts(kept),
    )
    managedidentity.FederatedIdentityCredential(
        credential_logical_name,
        federated_identity_credential_resource_name=credential_name,
        resource_name_=identity.name,
        resource_group_name=resource_group_name,
        issuer=GITHUB_OIDC_ISSUER,
        audiences=[AZURE_FEDERATION_AUDIENCE],
        subject=subject,
        opts=parent.child_opts(
            pulumi.ResourceOptions(
                retain_on_delete=retain_on_delete,
                provider=provider,
                import_=f"{import_id}/federatedIdentityCredentials/{credential_name}" if import_id else None,
            )
        ),
    )
    return identity


class IdentityArgs(ComponentArgs):
    key_vault_id: StrInput = Field(description="scope of the deployer's secrets role")
    subscription_id: StrInput = Field(description="for role definition ids")
    identity_name: str = Field(description="the deployer's physical identity name (names the assignment)")
    deployer_principal_id: str = Field(description="the deployer's object id, from the bootstrap (handoff)")


class DeployerIdentity(PlatformComponent):
    """What the environment stack still grants its deployer: *Key Vault Secrets Officer* on its vault.

    The identity, its credential and its subscription roles are the bootstrap's
    (infra/bootstrap_deployer.py); the deployer may grant this one role to itself
    (``DELEGATIONS``), so CI creates it at an environment's first deploy. The component keeps its
    name and type: the assignment's URN, and so the real assignment, stay.
    """

    AREA = "azure"

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        authorization.RoleAssignment(
            f"{name}-kv-secrets-officer",
            role_assignment_name=role_assignment_name(args.identity_name, "kv-secrets-officer"),
            principal_id=args.deployer_principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(args.subscription_id, "Key Vault Secrets Officer"),
            scope=args.key_vault_id,
            description="deployer: kv-secrets-officer",
            opts=self.child_opts(),
        )
        self.register()
