"""The deployer: a user-assigned identity CI logs in as by GitHub OIDC, with least-privilege roles.

No client secret exists (docs/traps.md: no-client-secret): GitHub's token for a job bound to the
environment is exchanged for an Azure token through the federated credential. On its own resource
group the deployer gets:

- a custom *deployer role*: Contributor's actions and not-actions (Azure built-in roles, "General":
  Contributor) minus what would let it keep or widen its access beyond one CI job, because the
  identity and its federated credential live in that same group: writing or deleting federated
  credentials (it could trust a subject of its own choosing), writing the identity, and attaching
  identities to compute it creates (``userAssignedIdentities/assign/action``: a VM holding the
  deployer's identity would keep its token after the job ends);
- *Role Based Access Control Administrator* under an ABAC condition (Azure ABAC, "Authorization
  actions and attributes": ``roleAssignments/write`` offers the request attributes role definition
  id and principal id, ``roleAssignments/delete`` the resource attribute role definition id): it may
  write an assignment only of a role in ``DELEGATIONS`` and only to the principal that role is for
  (the access connector, the PR-preview identity, itself), and delete only assignments of those
  roles;
- *Key Vault Secrets Officer* on the vault.

Creating the custom role and both assignments needs Owner or User Access Administrator: the first
``pulumi up`` of an environment (a person); CI can read them on refresh and never change them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from enum import StrEnum

import pulumi
from pulumi_azure_native import authorization, managedidentity
from pydantic import Field

from core.azure_roles import IDENTITY_SELF_ACTIONS, ROLE_DEFINITION_IDS
from core.github_oidc import AZURE_FEDERATION_AUDIENCE, GITHUB_OIDC_ISSUER, oidc_subject
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


def delegation_condition(principals: Mapping[Delegate, str]) -> str:
    """ABAC condition: write an assignment only of a ``DELEGATIONS`` role to its own principal;
    delete only assignments of those roles (deleting never widens access)."""
    attribute = "Microsoft.Authorization/roleAssignments"
    equals = "ForAnyOfAnyValues:GuidEquals"
    pairs = " OR ".join(
        f"(@Request[{attribute}:RoleDefinitionId] {equals} {{{ROLE_DEFINITION_IDS[role]}}}"
        f" AND @Request[{attribute}:PrincipalId] {equals} {{{principals[delegate]}}})"
        for role, delegate in DELEGATIONS.items()
    )
    roles = ", ".join(ROLE_DEFINITION_IDS[role] for role in DELEGATIONS)
    return (
        f"((!(ActionMatches{{'{attribute}/write'}})) OR ({pairs}))"
        f" AND ((!(ActionMatches{{'{attribute}/delete'}})) OR "
        f"(@Resource[{attribute}:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{roles}}}))"
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
) -> managedidentity.UserAssignedIdentity:
    """A user-assigned identity that GitHub Actions logs in as, for one OIDC subject only.

    ``retain_on_delete``: when the pair leaves this stack's program, Pulumi forgets it without
    deleting it in Azure (pulumi/pulumi ``pkg/resource/deploy/step.go``, ``DeleteStep.Apply``: a
    retained resource's delete is a no-op; only ``protect`` is checked before, and fails).
    """
    kept = pulumi.ResourceOptions(retain_on_delete=retain_on_delete)
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
        opts=parent.child_opts(kept),
    )
    return identity


class IdentityArgs(ComponentArgs):
    resource_group_name: StrInput = Field(description="the environment's resource group")
    resource_group_id: StrInput = Field(description="scope of the deployer's group roles")
    key_vault_id: StrInput = Field(description="scope of the deployer's secrets role")
    subscription_id: StrInput = Field(description="for role definition ids")
    location: str = Field(description="Azure region")
    tags: dict[str, str] = Field(description="common tags")
    identity_name: str = Field(description="physical managed identity name")
    github_owner: str = Field(description="GitHub organisation or user")
    github_repository: str = Field(description="repository name")
    environment: str = Field(description="GitHub environment name (the stack name)")
    access_connector_principal_id: StrInput = Field(description="the one principal of its storage role")
    preview_principal_id: str = Field(description="the PR-preview identity: the one principal of Reader")


class DeployerIdentity(PlatformComponent):
    AREA = "azure"

    id: pulumi.Output[str]
    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        identity = github_federated_identity(
            self,
            f"{name}-deployer",
            f"{name}-github-oidc",
            identity_name=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            credential_name=f"github-{args.environment}",
            subject=oidc_subject(args.github_owner, args.github_repository, args.environment),
            # Moving to the bootstrap (docs/bootstrap.md, "Moving the deployers into the bootstrap"):
            # this release writes retain-on-delete into every environment's state, so that the
            # release that drops the pair from this stack leaves the real identity in Azure.
            retain_on_delete=True,
        )
        role_guid = role_assignment_name(args.identity_name, "deployer-role")
        deployer_role = authorization.RoleDefinition(
            f"{name}-deployer-role",
            role_definition_id=role_guid,
            # Custom role names are unique in the tenant: the group and subscription make it so.
            role_name=pulumi.Output.concat(
                "Deployer of ", args.resource_group_name, " (", args.subscription_id, ")"
            ),
            description="Contributor less writing its identity, federated credentials, identity assignments",
            role_type="CustomRole",
            scope=args.resource_group_id,
            assignable_scopes=[args.resource_group_id],
            permissions=[
                authorization.PermissionArgs(actions=["*"], not_actions=list(DEPLOYER_ROLE_NOT_ACTIONS))
            ],
            # Leaves this stack with the identity (docs/bootstrap.md): CI may not delete it.
            opts=self.child_opts(pulumi.ResourceOptions(retain_on_delete=True)),
        )
        condition = pulumi.Output.all(
            connector=args.access_connector_principal_id, deployer=identity.principal_id
        ).apply(
            lambda ids: delegation_condition(
                {
                    Delegate.ACCESS_CONNECTOR: ids["connector"],
                    Delegate.PREVIEW: args.preview_principal_id,
                    Delegate.DEPLOYER: ids["deployer"],
                }
            )
        )
        custom_role_id = pulumi.Output.concat(
            "/subscriptions/",
            args.subscription_id,
            "/providers/Microsoft.Authorization/roleDefinitions/",
            role_guid,
        )
        # (logical name, physical-name key, role definition id, scope, condition, depends on)
        grants: tuple[
            tuple[str, str, pulumi.Input[str], pulumi.Input[str], pulumi.Input[str] | None], ...
        ] = (
            # Logical name kept from when this was Contributor (a new name would delete the assignment);
            # a new physical name, so the new assignment exists before the Contributor one is deleted.
            ("rg-contributor", "rg-deployer-role", custom_role_id, args.resource_group_id, None),
            (
                "rg-rbac-admin",
                "rg-rbac-admin",
                role_definition_id(args.subscription_id, "Role Based Access Control Administrator"),
                args.resource_group_id,
                condition,
            ),
            (
                "kv-secrets-officer",
                "kv-secrets-officer",
                role_definition_id(args.subscription_id, "Key Vault Secrets Officer"),
                args.key_vault_id,
                None,
            ),
        )
        for role_key, physical_key, role_id, scope, role_condition in grants:
            authorization.RoleAssignment(
                f"{name}-{role_key}",
                role_assignment_name=role_assignment_name(args.identity_name, physical_key),
                principal_id=identity.principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=role_id,
                scope=scope,
                condition=role_condition,
                condition_version="2.0" if role_condition is not None else None,
                description=f"deployer: {role_key}",
                # The group roles leave this stack with the identity; CI may not delete them.
                opts=self.child_opts(
                    pulumi.ResourceOptions(
                        depends_on=[deployer_role], retain_on_delete=role_key != "kv-secrets-officer"
                    )
                ),
            )
        self.id = identity.id
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.register(id=self.id, client_id=self.client_id, principal_id=self.principal_id)
