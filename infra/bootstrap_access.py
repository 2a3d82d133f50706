"""Who may read and write the state backend and its keys: the PR-preview identity and the deployers.

The preview identity is a user-assigned managed identity trusted by GitHub OIDC for
``repo:<owner>/<repo>:pull_request`` only: a pull request job bound to no environment. It gets
read-only data-plane roles here (state: *Storage Blob Data Reader*; each stack's key: *Key Vault
Crypto User*, the narrowest role that can decrypt) and, from each environment stack, *Reader* on
that environment (``infra/preview_access.py``). A preview writes no state: Pulumi's DIY backend
takes no lock and persists no snapshot for a dry run (pulumi/pulumi ``pkg/backend/diy/backend.go``,
``Preview`` and ``apply``), and ``pulumi preview --refresh`` refreshes in memory only.

Each environment's deployer identity (created by that environment's stack) gets *Storage Blob Data
Contributor* on the state container and *Key Vault Crypto User* on its own environment's key. Its
principal id reaches this project as config (``deployers.<environment>``), copied from the
environment stack's output ``deployerPrincipalId``: the two projects keep separate state, so
neither reads the other's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization
from pydantic import Field

from core.github_oidc import pull_request_subject
from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.identity import github_federated_identity, role_assignment_name, role_definition_id

PREVIEW_CREDENTIAL_NAME = "github-pull-request"


@dataclass(frozen=True)
class BackendRoles:
    """The role on the state container and the role on a stack's secrets-provider key."""

    state: str
    key: str


# The one table of who gets what on the backend. Reader roles only for previews. Operators (people
# deploying by hand) are deployers of every environment: with shared keys off, even an Owner of the
# subscription reads no blob and decrypts nothing without a data-plane role.
PREVIEW_ROLES = BackendRoles(state="Storage Blob Data Reader", key="Key Vault Crypto User")
DEPLOYER_ROLES = BackendRoles(state="Storage Blob Data Contributor", key="Key Vault Crypto User")
OPERATOR_ROLES = DEPLOYER_ROLES


class PreviewIdentityArgs(ComponentArgs):
    resource_group_name: StrInput = Field(description="the bootstrap's resource group")
    location: str = Field(description="Azure region")
    tags: dict[str, str] = Field(description="common tags")
    identity_name: str = Field(description="physical managed identity name")
    github_owner: str = Field(description="GitHub organisation or user")
    github_repository: str = Field(description="repository name")


class PreviewIdentity(PlatformComponent):
    AREA = "bootstrap"

    client_id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: PreviewIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        identity = github_federated_identity(
            self,
            f"{name}-identity",
            f"{name}-github-oidc",
            identity_name=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            credential_name=PREVIEW_CREDENTIAL_NAME,
            subject=pull_request_subject(args.github_owner, args.github_repository),
        )
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.tenant_id = identity.tenant_id
        self.register(client_id=self.client_id, principal_id=self.principal_id, tenant_id=self.tenant_id)


class BackendAccessArgs(ComponentArgs):
    subscription_id: StrInput = Field(description="for role definition ids")
    container_id: StrInput = Field(description="the state container: scope of the state roles")
    key_ids: Mapping[str, StrInput] = Field(description="environment -> its secrets-provider key id")
    preview_principal_id: StrInput = Field(description="object id of the preview identity")
    deployer_principal_ids: Mapping[str, str] = Field(
        description="environment -> object id of its deployer identity (may be empty on the first run)"
    )
    operator_principal_ids: tuple[str, ...] = Field(description="object ids of people or groups")


class BackendAccess(PlatformComponent):
    """Role assignments on the state container and the keys, from the two tables above."""

    AREA = "bootstrap"

    def __init__(
        self, name: str, args: BackendAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        unknown = sorted(set(args.deployer_principal_ids) - set(args.key_ids))
        if unknown:
            raise ValueError(f"deployers for environments without a key: {', '.join(unknown)}")
        grants: list[tuple[str, StrInput, str, StrInput]] = [
            ("preview-state", args.preview_principal_id, PREVIEW_ROLES.state, args.container_id),
            *(
                (f"preview-key-{env}", args.preview_principal_id, PREVIEW_ROLES.key, key_id)
                for env, key_id in sorted(args.key_ids.items())
            ),
        ]
        for env, deployer in sorted(args.deployer_principal_ids.items()):
            grants.append((f"deployer-{env}-state", deployer, DEPLOYER_ROLES.state, args.container_id))
            grants.append((f"deployer-{env}-key", deployer, DEPLOYER_ROLES.key, args.key_ids[env]))
        for operator in args.operator_principal_ids:
            grants.append((f"operator-{operator}-state", operator, OPERATOR_ROLES.state, args.container_id))
            grants += [
                (f"operator-{operator}-key-{env}", operator, OPERATOR_ROLES.key, key_id)
                for env, key_id in sorted(args.key_ids.items())
            ]
        for grant, principal_id, role, scope in grants:
            is_person = grant.startswith("operator-")
            authorization.RoleAssignment(
                f"{name}-{grant}",
                role_assignment_name=role_assignment_name("bootstrap", name, grant),
                principal_id=principal_id,
                # A user or a group: Azure resolves the type itself.
                principal_type=None if is_person else authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=role_definition_id(args.subscription_id, role),
                scope=scope,
                description=f"{grant}: {role}",
                # The name is fixed per grant: a new principal must free it before taking it.
                opts=self.child_opts(pulumi.ResourceOptions(delete_before_replace=True)),
            )
        self.register()
