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

from enum import StrEnum
from typing import NamedTuple

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from core.environment import Environment
from infra.base import ComponentArgs, PlatformComponent, StrInput

SERVICE_PRINCIPAL_USER = "roles/servicePrincipal.user"
SERVICE_PRINCIPAL_MANAGER = "roles/servicePrincipal.manager"
# The workspace's built-in group of workspace admins.
ADMINS_GROUP = "admins"


class WorkspaceObject(StrEnum):
    JOB = "job"
    EXPERIMENT = "experiment"
    SERVING_ENDPOINT = "serving_endpoint"


class Access(NamedTuple):
    """Permission levels on one kind of object; ``None`` means no entry at all."""

    job_principal: str | None
    developers_dev: str | None  # sandbox and dev: view and run
    developers_prod: str | None  # uat and prod: view only
    preview: str | None  # the PR-preview identity: what a refresh reads, in every environment


# The table docs/databricks.md shows. The deploying identity is the creator, hence owner/manager.
WORKSPACE_ACCESS: dict[WorkspaceObject, Access] = {
    # run_as needs no job ACL to run a job; the principal's CAN_MANAGE_RUN lets the monitoring job
    # start the training job on drift (iris_mlops.retrain, Jobs API run-now). Developers trigger runs
    # only outside uat/prod.
    WorkspaceObject.JOB: Access("CAN_MANAGE_RUN", "CAN_MANAGE_RUN", "CAN_VIEW", "CAN_VIEW"),
    WorkspaceObject.EXPERIMENT: Access("CAN_MANAGE", "CAN_EDIT", "CAN_READ", "CAN_READ"),
    # The deploy task (as the principal) updates the endpoint config; developers may query in dev.
    WorkspaceObject.SERVING_ENDPOINT: Access("CAN_MANAGE", "CAN_QUERY", "CAN_VIEW", "CAN_VIEW"),
}


def access_controls(
    kind: WorkspaceObject,
    environment: Environment,
    job_principal: pulumi.Input[str],
    developers_group: str,
    preview_principal: pulumi.Input[str],
) -> list[databricks.PermissionsAccessControlArgs]:
    """The ACL entries of one object, from the table; sorted by principal kind for a stable diff."""
    row = WORKSPACE_ACCESS[kind]
    developers = row.developers_prod if environment.is_production_like else row.developers_dev
    entries: list[databricks.PermissionsAccessControlArgs] = []
    if developers is not None:
        entries.append(
            databricks.PermissionsAccessControlArgs(group_name=developers_group, permission_level=developers)
        )
    if row.job_principal is not None:
        entries.append(
            databricks.PermissionsAccessControlArgs(
                service_principal_name=job_principal, permission_level=row.job_principal
            )
        )
    if row.preview is not None:
        entries.append(
            databricks.PermissionsAccessControlArgs(
                service_principal_name=preview_principal, permission_level=row.preview
            )
        )
    return entries


def rule_set_name(account_id: str, application_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The default rule set of one service principal (the only kind the API supports)."""
    return pulumi.Output.concat(
        "accounts/", account_id, "/servicePrincipals/", application_id, "/ruleSets/default"
    )


class WorkloadIdentityArgs(ComponentArgs):
    environment: Environment = Field(description="The environment the principal works in.")
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
        # ACLs (WORKSPACE_ACCESS) and Unity Catalog's BROWSE (UC_GRANTS) make it read-only.
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
