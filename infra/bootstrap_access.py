"""Who may read and write the state backend and its keys: the preview identities, the deployers, the
operators; each environment's state has its own container and its own key (core/backend.py).

Two preview identities, user-assigned and trusted by GitHub OIDC only for a job that runs main's
copy of a preview workflow (core/deployments.py):

- the **PR preview** identity, for ``repo:<owner>/<repo>:pull_request`` (a pull request's own code
  runs with its token): reads the state of, and decrypts the key of, only the environments a pull
  request may preview (``PULL_REQUEST_PREVIEWS``: sandbox, dev);
- the **release preview** identity, for the ``prod-preview`` GitHub environment (commits on main
  and ``v*`` tags only, before the prod reviewers approve): reads uat's and prod's.

Both get read-only data-plane roles (state: *Storage Blob Data Reader*; a key: *Key Vault Crypto
User*, the narrowest role that can decrypt) and, from each environment stack, *Reader* on that
environment (``infra/preview_access.py``). A preview writes no state: Pulumi's DIY backend takes no
lock and persists no snapshot for a dry run (pulumi/pulumi ``pkg/backend/diy/backend.go``,
``Preview`` and ``apply``).

Each environment's deployer identity gets *Storage Blob Data Contributor* on its own environment's
container and *Key Vault Crypto User* on its own key, nothing of another environment. Its ids reach
this project as config (``deployers.<environment>``), copied from the environment stack's outputs:
the two projects keep separate state, so neither reads the other's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.identity import github_federated_identity, role_assignment_name, role_definition_id

PREVIEW_CREDENTIAL_NAME = "github-pull-request"
RELEASE_PREVIEW_CREDENTIAL_NAME = "github-prod-preview"


@dataclass(frozen=True)
class BackendRoles:
    """The role on a state container and the role on a stack's secrets-provider key."""

    state: str
    key: str


# Reader roles only for previews. Operators (people deploying by hand) reach every environment:
# with shared keys off, even an Owner of the subscription reads no blob and decrypts nothing
# without a data-plane role.
PREVIEW_ROLES = BackendRoles(state="Storage Blob Data Reader", key="Key Vault Crypto User")
DEPLOYER_ROLES = BackendRoles(state="Storage Blob Data Contributor", key="Key Vault Crypto User")
OPERATOR_ROLES = DEPLOYER_ROLES


class PreviewIdentityArgs(ComponentArgs):
    resource_group_name: StrInput = Field(description="the bootstrap's resource group")
    location: str = Field(description="Azure region")
    tags: dict[str, str] = Field(description="common tags")
    identity_name: str = Field(description="physical managed identity name")
    credential_name: str = Field(description="name of its one federated credential")
    subject: str = Field(description="the one OIDC subject it trusts (core/github_oidc.py)")


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
            credential_name=args.credential_name,
            subject=args.subject,
        )
        self.client_id = identity.client_id
        self.principal_id = identity.principal_id
        self.tenant_id = identity.tenant_id
        self.register(client_id=self.client_id, principal_id=self.principal_id, tenant_id=self.tenant_id)


@dataclass(frozen=True)
class BackendReach:
    """A principal, the environments whose state and key it gets, and with which roles."""

    principal_id: StrInput
    environments: tuple[str, ...]
    roles: BackendRoles
    is_person: bool = False


class BackendAccessArgs(ComponentArgs):
    subscription_id: StrInput = Field(description="for role definition ids")
    container_ids: Mapping[str, StrInput] = Field(description="environment -> its state container id")
    key_ids: Mapping[str, StrInput] = Field(description="environment -> its secrets-provider key id")
    reach: Mapping[str, BackendReach] = Field(
        description="grantee (a logical name: preview, deployer-dev, operator-<id>) -> what it reaches"
    )


class BackendAccess(PlatformComponent):
    """Role assignments on each environment's state container and key, from ``reach``."""

    AREA = "bootstrap"

    def __init__(
        self, name: str, args: BackendAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        unknown = sorted(
            {env for reach in args.reach.values() for env in reach.environments}
            - (set(args.key_ids) & set(args.container_ids))
        )
        if unknown:
            raise ValueError(f"grants for environments without a container and key: {', '.join(unknown)}")
        for grantee, reach in sorted(args.reach.items()):
            for env in reach.environments:
                # A deployer reaches its own environment only: its grants keep their names.
                suffix = "" if grantee == f"deployer-{env}" else f"-{env}"
                for part, role, scope in (
                    ("state", reach.roles.state, args.container_ids[env]),
                    ("key", reach.roles.key, args.key_ids[env]),
                ):
                    grant = f"{grantee}-{part}{suffix}"
                    authorization.RoleAssignment(
                        f"{name}-{grant}",
                        role_assignment_name=role_assignment_name("bootstrap", name, grant),
                        principal_id=reach.principal_id,
                        # A user or a group: Azure resolves the type itself.
                        principal_type=None
                        if reach.is_person
                        else authorization.PrincipalType.SERVICE_PRINCIPAL,
                        role_definition_id=role_definition_id(args.subscription_id, role),
                        scope=scope,
                        description=f"{grant}: {role}",
                        # The name is fixed per grant: a new principal or scope must free it first.
                        opts=self.child_opts(pulumi.ResourceOptions(delete_before_replace=True)),
                    )
        self.register()
