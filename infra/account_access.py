"""The Databricks account objects the environments need: groups, deployers, their memberships.

Created by the bootstrap, with a provider on the account host (``https://accounts.azuredatabricks.net``,
``account_id``, ``auth_type = azure-cli``): the operator's own ``az login``, who must be an account
admin (the account SCIM APIs refuse anyone else). Which of the account objects this provider can
manage (pulumi-databricks 1.118, generated from terraform-provider-databricks' docs):

- ``databricks.Group``: "can be used with an account or workspace-level provider" (``group.py``);
- ``databricks.ServicePrincipal`` with ``application_id`` = a managed identity's client id: the
  same, and at account level a deletion deactivates it (``disable_as_user_deletion`` defaults to
  true there: ``service_principal.py``);
- ``databricks.GroupMember``: "can be used with an account or workspace-level provider"
  (``group_member.py``).

What it cannot manage (docs/bootstrap.md, "The Databricks account"): ``databricks.Grants`` on the
metastore goes through the workspace Grants API only (terraform-provider-databricks
``catalog/permissions/permissions.go``: ``NewUnityCatalogPermissionsAPI`` takes the
``WorkspaceClient``; ``grants.py``: "Most of Unity Catalog APIs are only accessible via
workspace-level APIs"), and ``databricks.MetastoreAssignment`` and
``databricks.MwsPermissionAssignment`` need a workspace id, which exists only after the
environment's first ``pulumi up``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_databricks as databricks
from pydantic import Field, model_validator

from infra.base import ComponentArgs, PlatformComponent, StrInput

ACCOUNT_HOST = "https://accounts.azuredatabricks.net"  # Azure's account console and API
ACCOUNT_AUTH_TYPE = "azure-cli"  # the operator's `az login`; databricks-sdk-go config/auth_azure_cli.go


class AccountDeployer(ComponentArgs):
    group: str = Field(min_length=1, description="its environment's deployers group")
    application_id: StrInput = Field(description="the deployer identity's client id")
    display_name: str = Field(min_length=1, description="as the environment's workspace names it")


class DatabricksAccountArgs(ComponentArgs):
    account_id: str = Field(min_length=1)
    groups: tuple[str, ...] = Field(min_length=1, description="account groups, by display name")
    deployers: Mapping[str, AccountDeployer] = Field(description="environment -> its deployer")

    @model_validator(mode="after")
    def _deployers_join_listed_groups(self) -> DatabricksAccountArgs:
        unknown = sorted({d.group for d in self.deployers.values()} - set(self.groups))
        if unknown:
            raise ValueError(f"deployers join {', '.join(unknown)}, not in groups")
        return self


class DatabricksAccount(PlatformComponent):
    AREA = "databricks"

    group_ids: Mapping[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: DatabricksAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        provider = databricks.Provider(
            f"{name}-provider",
            host=ACCOUNT_HOST,
            account_id=args.account_id,
            auth_type=ACCOUNT_AUTH_TYPE,
            opts=self.child_opts(),
        )
        on_account = self.child_opts(pulumi.ResourceOptions(provider=provider))
        groups = {
            group: databricks.Group(f"{name}-group-{group}", display_name=group, opts=on_account)
            for group in args.groups
        }
        for env, deployer in sorted(args.deployers.items()):
            principal = databricks.ServicePrincipal(
                f"{name}-{env}-deployer",
                application_id=deployer.application_id,
                display_name=deployer.display_name,
                active=True,
                opts=on_account,
            )
            databricks.GroupMember(
                f"{name}-{env}-deployer-member",
                group_id=groups[deployer.group].id,
                member_id=principal.id,
                opts=on_account,
            )
        self.group_ids = {group: resource.id for group, resource in groups.items()}
        self.register(group_ids=self.group_ids)
