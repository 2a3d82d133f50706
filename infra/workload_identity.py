"""The identities of one workspace: the job principal, the CI deployer, and who may use whom.

- The job principal is Databricks-managed (no Entra app, so no client secret exists anywhere): it
  is the jobs' ``run_as``, owns the registered model and manages the serving endpoint, so the
  deploy task, running as it, can move the served version.
- ``run_as.service_principal_name`` requires the caller (whoever creates or updates the job) to
  hold the *Service Principal User* role on that principal; its creator gets only *Manager*, and
  workspace admins need *User* too
  (https://docs.databricks.com/security/auth-authz/access-control/service-principal-acl.html#service-principal-roles).
  A rule set grants both roles to the deployers group and User to the deployer identity itself
  (``databricks.AccessControlRuleSet`` through the workspace, name
  ``accounts/<account>/servicePrincipals/<application id>/ruleSets/default``: pulumi-databricks
  ``AccessControlRuleSet``; terraform-provider-databricks docs/resources/access_control_rule_set.md).
  The rule set is authoritative, so Manager stays with the deployers, who must keep editing it.
- The bootstrap's PR-preview identity is added the same way, with read-only ACLs (see below).
- The deployer managed identity is added to the workspace as an Azure-managed service principal
  (application id = the identity's client id). With ``github-oidc-azure`` the Databricks SDK sends
  only the Entra token, no Azure management token (databricks-sdk-go
  config/auth_azure_github_oidc.go), so the workspace never auto-provisions an Azure Contributor
  it has not seen: without this resource CI is refused on its first call.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from infra.access import GROUP_ROLES, Role
from infra.base import ComponentArgs, PlatformComponent, StrInput

SERVICE_PRINCIPAL_USER = "roles/servicePrincipal.user"
SERVICE_PRINCIPAL_MANAGER = "roles/servicePrincipal.manager"
# The workspace's built-in group of workspace admins.
ADMINS_GROUP = "admins"


def access_controls(
    levels: Mapping[Role, str], principals: Mapping[Role, pulumi.Input[str]]
) -> list[databricks.PermissionsAccessControlArgs]:
    """The ACL entries of one object (``AccessLevels.workspace``): groups first, then service
    principals, each in ``Role`` order, for a stable diff. A role without a level gets no entry."""
    entries: list[databricks.PermissionsAccessControlArgs] = []
    for groups in (True, False):
        for role in Role:
            if role not in levels or (role in GROUP_ROLES) is not groups:
                continue
            principal = principals[role]
            entries.append(
                databricks.PermissionsAccessControlArgs(group_name=principal, permission_level=levels[role])
                if groups
                else databricks.PermissionsAccessControlArgs(
                    service_principal_name=principal, permission_level=levels[role]
                )
            )
    return entries


def rule_set_name(account_id: str, application_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The default rule set of one service principal (the only kind the API supports)."""
    return pulumi.Output.concat(
        "accounts/", account_id, "/servicePrincipals/", application_id, "/ruleSets/default"
    )


class WorkloadIdentityArgs(ComponentArgs):
    display_name: str = Field(min_length=1, description="Display name of the service principal.")
    account_id: str = Field(
        pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description="Databricks account id: rule set names carry it.",
    )
    deployers_group: str = Field(min_length=1, description="Account group of the deploying identities.")
    deployer_application_id: StrInput = Field(description="Client id of the deployer managed identity.")
    deployer_display_name: str = Field(min_length=1, description="How the deployer shows in the workspace.")
    preview_application_id: StrInput = Field(
        description="Client id of the bootstrap's PR-preview identity (config section bootstrap)."
    )
    preview_display_name: str = Field(min_length=1, description="How the preview identity shows.")
    provider: databricks.Provider = Field(description="The environment's explicit Databricks provider.")


class WorkloadIdentity(PlatformComponent):
    """The job principal, its rule set, and the deployer registered as a workspace admin."""

    AREA = "databricks"

    application_id: pulumi.Output[str]
    preview_application_id: pulumi.Output[str]
    run_as_role: databricks.AccessControlRuleSet

    def __init__(
        self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        principal = databricks.ServicePrincipal(
            f"{name}-sp",
            display_name=args.display_name,
            active=True,
            # Jobs get their compute from the job spec; the principal never creates clusters itself.
            allow_cluster_create=False,
            allow_instance_pool_create=False,
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider)),
        )
        provider = pulumi.ResourceOptions(provider=args.provider)
        deployer = databricks.ServicePrincipal(
            f"{name}-deployer-sp",
            application_id=args.deployer_application_id,
            display_name=args.deployer_display_name,
            active=True,
            # Serverless jobs only: the deployer never creates clusters or pools itself.
            allow_cluster_create=False,
            allow_instance_pool_create=False,
            opts=self.child_opts(provider),
        )
        # Workspace admin, because what this program manages needs it: creating and updating
        # service principals (workspace SCIM), replacing the ACLs of jobs, experiments and
        # endpoints that the bootstrapping person created (CAN_MANAGE on each, which admins hold on
        # all), and the secret scope's ACLs (MANAGE on the scope). Unity Catalog rights come from
        # the deployers group instead, which owns every securable (infra/unity_catalog.py).
        admins = databricks.get_group_output(
            display_name=ADMINS_GROUP, opts=pulumi.InvokeOutputOptions(provider=args.provider, parent=self)
        )
        databricks.GroupMember(
            f"{name}-deployer-admin",
            group_id=admins.id,
            member_id=deployer.id,
            opts=self.child_opts(provider),
        )
        self.run_as_role = databricks.AccessControlRuleSet(
            f"{name}-run-as-rules",
            name=rule_set_name(args.account_id, principal.application_id),
            grant_rules=[
                databricks.AccessControlRuleSetGrantRuleArgs(
                    role=SERVICE_PRINCIPAL_MANAGER, principals=[f"groups/{args.deployers_group}"]
                ),
                databricks.AccessControlRuleSetGrantRuleArgs(
                    role=SERVICE_PRINCIPAL_USER,
                    principals=[
                        f"groups/{args.deployers_group}",
                        pulumi.Output.concat("servicePrincipals/", args.deployer_application_id),
                    ],
                ),
            ],
            # The deployer must be known to the workspace before a rule can name it.
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider, depends_on=[deployer])),
        )
        # The PR-preview identity reads the workspace: the one access entitlement a principal needs
        # to call the workspace's APIs, nothing that creates compute or uses SQL warehouses; the
        # ACLs and Unity Catalog's BROWSE (infra/access.py) make it read-only.
        preview = databricks.ServicePrincipal(
            f"{name}-preview-sp",
            application_id=args.preview_application_id,
            display_name=args.preview_display_name,
            active=True,
            workspace_access=True,
            databricks_sql_access=False,
            allow_cluster_create=False,
            allow_instance_pool_create=False,
            opts=self.child_opts(provider),
        )
        self.application_id = principal.application_id
        self.preview_application_id = preview.application_id
        self.register(application_id=self.application_id, preview_application_id=self.preview_application_id)
