"""One environment's deployer, owned by the bootstrap: the identity CI's deploy jobs log in as.

The bootstrap creates it before the environment exists, so CI performs the environment's first
deploy (docs/bootstrap.md, "The deployers"):

- the user-assigned identity and its GitHub OIDC credential for ``environment:<env>``, bound to
  main's reusable deploy workflow (core/github_oidc.py), as the preview identities are bound;
- on the environment's own subscription: the custom deployer role and the constrained RBAC
  administration (infra/identity.py), so that its first deploy can create the resource group.

An environment deployed before the bootstrap owned its deployer keeps it: the bootstrap adopts the
identity and credential where they are (``import_id``, the environment stack's output
``deployerIdentityId``); the environment stack retained them (``retain_on_delete``) before it
dropped them, so no real identity is deleted or replaced. A new environment's deployer lives in
the bootstrap's resource group, outside every environment's subscription.

Every resource is created through ``subscription_provider`` (the environment's subscription) but
the new identity, which lives beside the preview identities (the bootstrap's default provider).
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization
from pydantic import Field

from core.environment import Environment
from core.github_oidc import oidc_subject
from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.identity import (
    DEPLOYER_ROLE_NOT_ACTIONS,
    Delegate,
    delegation_condition,
    github_federated_identity,
    role_assignment_name,
    role_definition_id,
)


class EnvironmentDeployerArgs(ComponentArgs):
    environment: Environment = Field(description="the environment (its GitHub environment's name)")
    subscription_id: str = Field(description="the environment's subscription: the deployer's scope")
    identity_name: str = Field(description="physical identity name (the deployed one's, when imported)")
    resource_group_name: StrInput = Field(description="where the identity lives")
    location: str = Field(description="the identity's region")
    tags: dict[str, str] = Field(description="the identity's tags")
    github_owner: str = Field(description="GitHub organisation or user")
    github_repository: str = Field(description="repository name")
    preview_principal_id: StrInput = Field(description="the identity that previews this environment")
    import_id: str | None = Field(
        None, description="ARM id of a deployed environment's deployer to adopt; None creates one"
    )


class EnvironmentDeployer(PlatformComponent):
    AREA = "bootstrap"

    principal_id: pulumi.Output[str]  # Entra object id: the backend grants, the delegation condition
    client_id: pulumi.Output[str]  # application id: CI's login, the Databricks service principal

    def __init__(
        self,
        name: str,
        args: EnvironmentDeployerArgs,
        subscription_provider: pulumi.ProviderResource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(name, opts)
        env = args.environment.value
        on_subscription = pulumi.ResourceOptions(provider=subscription_provider)
        identity = github_federated_identity(
            self,
            f"{name}-identity",
            f"{name}-github-oidc",
            identity_name=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            credential_name=f"github-{env}",
            subject=oidc_subject(args.github_owner, args.github_repository, env),
            import_id=args.import_id,
            # An adopted identity lives in the environment's subscription, a new one in the bootstrap's.
            provider=subscription_provider if args.import_id else None,
        )
        scope = f"/subscriptions/{args.subscription_id}"
        role_guid = role_assignment_name("deployer", env, args.subscription_id, "subscription-role")
        role = authorization.RoleDefinition(
            f"{name}-role",
            role_definition_id=role_guid,
            # Custom role names are unique in the tenant: the environment and subscription make it so.
            role_name=f"MLOps deployer of {env} ({args.subscription_id})",
            description="Contributor less writing identities, federated credentials, identity assignments",
            role_type="CustomRole",
            scope=scope,
            assignable_scopes=[scope],
            permissions=[
                authorization.PermissionArgs(actions=["*"], not_actions=list(DEPLOYER_ROLE_NOT_ACTIONS))
            ],
            opts=self.child_opts(on_subscription),
        )
        condition = pulumi.Output.all(
            preview=args.preview_principal_id, deployer=identity.principal_id
        ).apply(
            lambda ids: delegation_condition(
                {Delegate.PREVIEW: ids["preview"], Delegate.DEPLOYER: ids["deployer"]}
            )
        )
        grants: tuple[tuple[str, pulumi.Input[str], pulumi.Input[str] | None], ...] = (
            (
                "subscription-role",
                pulumi.Output.concat(scope, "/providers/Microsoft.Authorization/roleDefinitions/", role_guid),
                None,
            ),
            (
                "rbac-admin",
                role_definition_id(args.subscription_id, "Role Based Access Control Administrator"),
                condition,
            ),
        )
        for key, role_id, role_condition in grants:
            authorization.RoleAssignment(
                f"{name}-{key}",
                role_assignment_name=role_assignment_name("deployer", env, args.subscription_id, key),
                principal_id=identity.principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=role_id,
                scope=scope,
                condition=role_condition,
                condition_version="2.0" if role_condition is not None else None,
                description=f"deployer of {env}: {key}",
                opts=self.child_opts(
                    pulumi.ResourceOptions.merge(on_subscription, pulumi.ResourceOptions(depends_on=[role]))
                ),
            )
        self.principal_id = identity.principal_id
        self.client_id = identity.client_id
        self.register(principal_id=self.principal_id, client_id=self.client_id)
