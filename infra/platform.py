"""One environment's foundation: resource group, monitoring, Key Vault, the deployer's vault role, workspace.

It takes explicit args (the composition root, stacks/wiring.py, resolves them from settings),
creates its children in dependency order and exposes every output later components (Databricks
provider, Unity Catalog, GitHub) and CI need.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import authorization
from pydantic import Field

from core.environment import Environment
from infra.base import ComponentArgs, PlatformComponent
from infra.identity import DeployerIdentity, IdentityArgs
from infra.keyvault import KeyVault, KeyVaultArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.naming import AzureNames
from infra.resource_group import ResourceGroup, ResourceGroupArgs
from infra.workspace import VnetArgs, Workspace, WorkspaceArgs


class PlatformArgs(ComponentArgs):
    environment: Environment = Field(description="the stack; names the deployer's federated subject")
    names: AzureNames = Field(description="every physical Azure name, from naming.py")
    tags: dict[str, str] = Field(description="common tags")
    location: str = Field(description="Azure region")
    subscription_id: str = Field(description="the stack's subscription")
    protect_stateful: bool = Field(description="protect stateful resources")
    retain_on_delete: bool = Field(description="keep stateful resources in Azure when removed from code")
    delete_lock: bool = Field(description="a CanNotDelete lock on the resource group")
    log_retention_days: int = Field(description="Log Analytics retention (30-730)")
    alert_emails: tuple[str, ...] = Field(description="who is e-mailed when a job fails")
    failed_job_alert: bool = Field(description="create the failed-job alert rule")
    key_vault_sku: str = Field(description="standard or premium")
    key_vault_soft_delete_retention_days: int = Field(description="7-90 days")
    key_vault_purge_protection: bool = Field(description="turn purge protection on")
    key_vault_network_default_action: str = Field(description="Allow or Deny")
    key_vault_allowed_ip_ranges: tuple[str, ...] = Field(description="IPv4 ranges let through the firewall")
    storage_sku: str = Field(description="Unity Catalog storage redundancy SKU")
    no_public_ip: bool = Field(description="secure cluster connectivity")
    vnet: VnetArgs | None = Field(description="VNet injection, or None for the managed VNet")
    secrets: Mapping[str, pulumi.Output[str]] = Field(description="secret name -> value, stored in the vault")
    preview_principal_id: str = Field(description="the PR-preview identity, the one principal of its Reader")
    deployer_principal_id: str = Field(description="the bootstrap's deployer of this environment (handoff)")
    deployer_client_id: str = Field(description="its client id: CI's login, its Databricks service principal")


class Platform(PlatformComponent):
    AREA = "platform"

    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]
    location: str
    tenant_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    log_analytics_workspace_id: pulumi.Output[str]
    action_group_id: pulumi.Output[str]
    key_vault_id: pulumi.Output[str]
    key_vault_name: pulumi.Output[str]
    key_vault_uri: pulumi.Output[str]
    deployer_client_id: pulumi.Output[str]
    deployer_principal_id: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    workspace_numeric_id: pulumi.Output[str]
    workspace_url: pulumi.Output[str]
    access_connector_id: pulumi.Output[str]
    storage_account_name: pulumi.Output[str]
    storage_container_name: pulumi.Output[str]
    storage_root: pulumi.Output[str]
    uc_storage_access: pulumi.Resource

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        names, tags, location = args.names, args.tags, args.location
        stateful = {"protect": args.protect_stateful, "retain_on_delete": args.retain_on_delete}
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(parent=self))

        group = ResourceGroup(
            f"{name}-group",
            ResourceGroupArgs(
                name=names.resource_group,
                location=location,
                tags=tags,
                delete_lock=args.delete_lock,
                **stateful,
            ),
            opts=self.child_opts(),
        )
        monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                resource_group_name=group.group_name,
                location=location,
                tags=tags,
                workspace_name=names.log_analytics,
                action_group_name=names.action_group,
                action_group_short_name=names.action_group_short,
                alert_rule_name=names.alert_rule,
                retention_days=args.log_retention_days,
                alert_emails=args.alert_emails,
                failed_job_alert=args.failed_job_alert,
                **stateful,
            ),
            opts=self.child_opts(),
        )
        vault = KeyVault(
            f"{name}-keyvault",
            KeyVaultArgs(
                resource_group_name=group.group_name,
                location=location,
                tags=tags,
                vault_name=names.key_vault,
                tenant_id=client.tenant_id,
                sku=args.key_vault_sku,
                soft_delete_retention_days=args.key_vault_soft_delete_retention_days,
                purge_protection=args.key_vault_purge_protection,
                network_default_action=args.key_vault_network_default_action,
                allowed_ip_ranges=args.key_vault_allowed_ip_ranges,
                log_analytics_workspace_id=monitoring.log_analytics_workspace_id,
                secrets=args.secrets,
                **stateful,
            ),
            opts=self.child_opts(),
        )
        workspace = Workspace(
            f"{name}-databricks",
            WorkspaceArgs(
                resource_group_name=group.group_name,
                subscription_id=args.subscription_id,
                location=location,
                tags=tags,
                workspace_name=names.databricks_workspace,
                managed_resource_group_name=names.managed_resource_group,
                access_connector_name=names.access_connector,
                storage_account_name=names.storage_account,
                storage_sku=args.storage_sku,
                container_name=names.uc_container,
                no_public_ip=args.no_public_ip,
                vnet=args.vnet,
                log_analytics_workspace_id=monitoring.log_analytics_workspace_id,
                **stateful,
            ),
            opts=self.child_opts(),
        )
        # The deployer itself is the bootstrap's (infra/bootstrap_deployer.py); here only its vault role.
        DeployerIdentity(
            f"{name}-identity",
            IdentityArgs(
                key_vault_id=vault.id,
                subscription_id=args.subscription_id,
                identity_name=names.deployer_identity,
                deployer_principal_id=args.deployer_principal_id,
            ),
            opts=self.child_opts(),
        )

        self.resource_group_name = group.group_name
        self.resource_group_id = group.id
        self.location = location
        self.tenant_id = client.tenant_id
        self.subscription_id = pulumi.Output.from_input(args.subscription_id)
        self.log_analytics_workspace_id = monitoring.log_analytics_workspace_id
        self.action_group_id = monitoring.action_group_id
        self.key_vault_id = vault.id
        self.key_vault_name = vault.vault_name
        self.key_vault_uri = vault.vault_uri
        self.deployer_client_id = pulumi.Output.from_input(args.deployer_client_id)
        self.deployer_principal_id = pulumi.Output.from_input(args.deployer_principal_id)
        self.workspace_id = workspace.workspace_id
        self.workspace_numeric_id = workspace.workspace_numeric_id
        self.workspace_url = workspace.workspace_url
        self.access_connector_id = workspace.access_connector_id
        self.storage_account_name = workspace.storage_account_name
        self.storage_container_name = workspace.container_name
        self.storage_root = workspace.storage_root
        self.uc_storage_access = workspace.storage_access_propagated
        self.register(**self.outputs())

    def outputs(self) -> dict[str, pulumi.Input[str]]:
        """Every output, keyed by the camelCase name the stack exports it under."""
        return {
            "resourceGroupName": self.resource_group_name,
            "resourceGroupId": self.resource_group_id,
            "location": self.location,
            "tenantId": self.tenant_id,
            "subscriptionId": self.subscription_id,
            "logAnalyticsWorkspaceId": self.log_analytics_workspace_id,
            "actionGroupId": self.action_group_id,
            "keyVaultId": self.key_vault_id,
            "keyVaultName": self.key_vault_name,
            "keyVaultUri": self.key_vault_uri,
            "deployerClientId": self.deployer_client_id,
            "deployerPrincipalId": self.deployer_principal_id,
            "workspaceId": self.workspace_id,
            "workspaceNumericId": self.workspace_numeric_id,
            "workspaceUrl": self.workspace_url,
            "accessConnectorId": self.access_connector_id,
            "ucStorageAccountName": self.storage_account_name,
            "ucStorageContainerName": self.storage_container_name,
            "ucStorageRoot": self.storage_root,
        }
