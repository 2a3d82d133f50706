"""The deployer: a user-assigned identity CI logs in as by GitHub OIDC, with least-privilege roles.

No client secret exists (docs/traps.md: no-client-secret): GitHub's token for a job bound to the
environment is exchanged for an Azure token through the federated credential. The deployer gets
Contributor on its own resource group (never Owner), Key Vault Secrets Officer on the vault, and
Role Based Access Control Administrator constrained by a condition to assign only the roles this
program assigns.
"""

from __future__ import annotations

import uuid

import pulumi
from pulumi_azure_native import authorization, managedidentity
from pydantic import Field

from core.azure_roles import ROLE_DEFINITION_IDS
from core.github_oidc import AZURE_FEDERATION_AUDIENCE, GITHUB_OIDC_ISSUER, oidc_subject
from infra.base import ComponentArgs, PlatformComponent, StrInput

# The only roles the deployer may hand out (the access connector's storage role, vault roles, and
# Reader on its own group for the PR-preview identity: infra/preview_access.py).
DELEGABLE_ROLES: tuple[str, ...] = (
    "Storage Blob Data Contributor",
    "Key Vault Secrets Officer",
    "Key Vault Secrets User",
    "Reader",
)
# Deterministic role assignment names: known at plan time, stable across runs.
_ASSIGNMENT_NAMESPACE = uuid.UUID("6f1c2b1e-9a4d-4c1e-8f3a-2d5b7e9c0a11")


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    guid = ROLE_DEFINITION_IDS[role]
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", guid
    )


def role_assignment_name(*parts: str) -> str:
    return str(uuid.uuid5(_ASSIGNMENT_NAMESPACE, "/".join(parts)))


def delegation_condition(roles: tuple[str, ...] = DELEGABLE_ROLES) -> str:
    """ABAC condition: role assignments may be written or deleted only for ``roles``."""
    guids = ", ".join(ROLE_DEFINITION_IDS[role] for role in roles)
    attribute = "Microsoft.Authorization/roleAssignments:RoleDefinitionId"
    action = "Microsoft.Authorization/roleAssignments"
    return (
        f"((!(ActionMatches{{'{action}/write'}})) OR "
        f"(@Request[{attribute}] ForAnyOfAnyValues:GuidEquals {{{guids}}}))"
        f" AND ((!(ActionMatches{{'{action}/delete'}})) OR "
        f"(@Resource[{attribute}] ForAnyOfAnyValues:GuidEquals {{{guids}}}))"
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
) -> managedidentity.UserAssignedIdentity:
    """A user-assigned identity that GitHub Actions logs in as, for one OIDC subject only."""
    identity = managedidentity.UserAssignedIdentity(
        identity_logical_name,
        resource_name_=identity_name,
        resource_group_name=resource_group_name,
        location=location,
        tags=tags,
        opts=parent.child_opts(),
    )
    managedidentity.FederatedIdentityCredential(
        credential_logical_name,
        federated_identity_credential_resource_name=credential_name,
        resource_name_=identity.name,
        resource_group_name=resource_group_name,
        issuer=GITHUB_OIDC_ISSUER,
        audiences=[AZURE_FEDERATION_AUDIENCE],
        subject=subject,
        opts=parent.child_opts(),
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
        )
        grants: tuple[tuple[str, str, pulumi.Input[str], str | None], ...] = (
            ("rg-contributor", "Contributor", args.resource_group_id, None),
            (
                "rg-rbac-admin",
                "Role Based Access Control Administrator",
                args.resource_group_id,
                "constrained",
            ),
            ("kv-secrets-officer", "Key Vault Secrets Officer", args.key_vault_id, None),
        )
        for role_key, role, scope, condition in grants:
            authorization.RoleAssignment(
                f"{name}-{role_key}",
                role_assignment_name=role_assignment_name(args.identity_name, role_key),
                principal_id=identity.principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=role_definition_id(args.subscription_id, role),
                scope=scope,
                condition=delegation_condition() if condition else None,
                condition_version="2.0" if condition else None,
                description=f"deployer: {role}",
                opts=self.child_opts(),
            )
        self.id = identity.id
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.register(id=self.id, client_id=self.client_id, principal_id=self.principal_id)
