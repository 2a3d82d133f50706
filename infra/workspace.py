"""The Azure Databricks workspace and the Unity Catalog storage it reads through an access connector.

Secure cluster connectivity (no public IP on nodes) and VNet injection follow the settings; the
ADLS Gen2 account allows neither anonymous blobs nor shared keys, so only Entra identities (the
access connector) reach the data.
"""

from __future__ import annotations

import pulumi
import pulumiverse_time as time
from pulumi_azure_native import authorization, databricks, storage
from pydantic import Field

from core.azure_roles import ROLE_PROPAGATION_MINUTES
from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.identity import role_assignment_name, role_definition_id
from infra.monitoring import send_diagnostics

# Workspace log categories sent to Log Analytics; "jobs" feeds the failed-job and drift alerts.
WORKSPACE_LOG_CATEGORIES: tuple[str, ...] = (
    "accounts",
    "clusters",
    "jobs",
    "secrets",
    "serverlessRealTimeInference",
    "unityCatalog",
    "workspace",
)
PUBLIC_SUBNET = "snet-dbw-public"
PRIVATE_SUBNET = "snet-dbw-private"
# time.Sleep takes a Go duration.
STORAGE_ROLE_PROPAGATION = f"{ROLE_PROPAGATION_MINUTES}m"


class VnetArgs(ComponentArgs):
    vnet_name: str = Field(description="physical VNet name")
    nsg_name: str = Field(description="physical NSG name")
    address_space: str = Field(description="VNet CIDR")
    public_subnet_cidr: str = Field(description="host subnet CIDR")
    private_subnet_cidr: str = Field(description="container subnet CIDR")


class WorkspaceArgs(ComponentArgs):
    resource_group_name: StrInput = Field(description="the environment's resource group")
    subscription_id: StrInput = Field(description="for the managed RG id and role definitions")
    location: str = Field(description="Azure region")
    tags: dict[str, str] = Field(description="common tags")
    workspace_name: str = Field(description="physical Databricks workspace name")
    managed_resource_group_name: str = Field(description="resource group Databricks manages itself")
    access_connector_name: str = Field(description="physical access connector name")
    storage_account_name: str = Field(description="physical ADLS Gen2 account name (globally unique)")
    storage_sku: str = Field(description="storage redundancy SKU")
    container_name: str = Field(description="Unity Catalog container")
    no_public_ip: bool = Field(description="secure cluster connectivity")
    vnet: VnetArgs | None = Field(description="VNet injection, or None for the managed VNet")
    log_analytics_workspace_id: StrInput = Field(description="where diagnostics go")
    protect: bool = Field(description="protect the workspace and the storage account")
    retain_on_delete: bool = Field(description="keep them in Azure when removed from code")


class Workspace(PlatformComponent):
    AREA = "azure"

    workspace_id: pulumi.Output[str]  # Azure resource id
    workspace_numeric_id: pulumi.Output[str]
    workspace_url: pulumi.Output[str]
    access_connector_id: pulumi.Output[str]
    access_connector_principal_id: pulumi.Output[str]
    storage_account_name: pulumi.Output[str]
    container_name: pulumi.Output[str]
    storage_root: pulumi.Output[str]
    # The access connector's Storage Blob Data Contributor role, and the wait for it to propagate:
    # Unity Catalog objects that validate the connector's access (storage credential, external
    # location) are created after the wait.
    storage_access: authorization.RoleAssignment
    storage_access_propagated: time.Sleep

    def __init__(self, name: str, args: WorkspaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        stateful = self.child_opts(
            pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.retain_on_delete)
        )
        connector = databricks.AccessConnector(
            f"{name}-access-connector",
            connector_name=args.access_connector_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            identity=databricks.ManagedServiceIdentityArgs(
                type=databricks.ManagedServiceIdentityType.SYSTEM_ASSIGNED
            ),
            tags=args.tags,
            opts=self.child_opts(),
        )
        account = storage.StorageAccount(
            f"{name}-uc-storage",
            account_name=args.storage_account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=args.storage_sku),
            is_hns_enabled=True,
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            tags=args.tags,
            opts=stateful,
        )
        container = storage.BlobContainer(
            f"{name}-uc-container",
            container_name=args.container_name,
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            public_access=storage.PublicAccess.NONE,
            opts=self.child_opts(),
        )
        principal_id = connector.identity.apply(lambda identity: identity.principal_id if identity else "")
        self.storage_access = authorization.RoleAssignment(
            f"{name}-connector-blob-contributor",
            role_assignment_name=role_assignment_name(args.access_connector_name, args.storage_account_name),
            principal_id=principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(args.subscription_id, "Storage Blob Data Contributor"),
            scope=account.id,
            description="Unity Catalog reads and writes managed tables through the access connector",
            opts=self.child_opts(),
        )
        self.storage_access_propagated = self._wait_for_propagation(name, self.storage_access)
        workspace = databricks.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=databricks.SkuArgs(name="premium"),  # Unity Catalog and RBAC need premium
            managed_resource_group_id=pulumi.Output.concat(
                "/subscriptions/", args.subscription_id, "/resourceGroups/", args.managed_resource_group_name
            ),
            parameters=self._parameters(name, args),
            tags=args.tags,
            opts=stateful,
        )
        send_diagnostics(
            f"{name}-diagnostics",
            resource_uri=workspace.id,
            log_analytics_workspace_id=args.log_analytics_workspace_id,
            log_categories=WORKSPACE_LOG_CATEGORIES,
            metrics=False,  # Databricks workspaces publish no platform metrics
            opts=self.child_opts(),
        )
        self.workspace_id = workspace.id
        self.workspace_numeric_id = workspace.workspace_id
        self.workspace_url = workspace.workspace_url.apply(lambda host: f"https://{host}")
        self.access_connector_id = connector.id
        self.access_connector_principal_id = principal_id
        self.storage_account_name = account.name
        self.container_name = container.name
        self.storage_root = pulumi.Output.format(
            "abfss://{0}@{1}.dfs.core.windows.net/", container.name, account.name
        )
        self.register(
            workspace_id=self.workspace_id,
            workspace_numeric_id=self.workspace_numeric_id,
            workspace_url=self.workspace_url,
            access_connector_id=self.access_connector_id,
            storage_account_name=self.storage_account_name,
            container_name=self.container_name,
            storage_root=self.storage_root,
        )

    def _wait_for_propagation(self, name: str, role: authorization.RoleAssignment) -> time.Sleep:
        """A bounded wait after the role is created, before anything validates storage access with it.

        The role assignment returns when Azure Resource Manager has it, minutes before the storage
        data plane honours it, while creating a storage credential or an external location
        validates the connector's access to the ``abfss://`` URL and fails without it
        (databricks-sdk ``ExternalLocationsAPI.create``: ``skip_validation`` "Skips validation of the
        storage credential"; terraform-provider-databricks#3069: fails on a first apply, succeeds
        later unchanged). ``skip_validation`` would only move the failure to the first write, the
        wheel upload of the same ``pulumi up``.

        The wait (``ROLE_PROPAGATION_MINUTES``, Azure's documented bound) runs only when the Sleep is
        created: hashicorp/terraform-provider-time ``internal/provider/resource_time_sleep.go``
        sleeps in Create, not in Update, and its Read is empty (nothing remote to refresh);
        ``triggers`` "when changed, will run any creation or destroy delays again" (pulumiverse_time
        ``sleep.py``), and its one trigger is the assignment's id, so only a new assignment waits
        again. It overlaps the workspace's own creation, which takes minutes too.
        """
        return time.Sleep(
            f"{name}-storage-role-propagation",
            create_duration=STORAGE_ROLE_PROPAGATION,
            triggers={"roleAssignmentId": role.id},
            opts=self.child_opts(pulumi.ResourceOptions(depends_on=[role])),
        )

    def _parameters(self, name: str, args: WorkspaceArgs) -> databricks.WorkspaceCustomParametersArgs:
        no_public_ip = databricks.WorkspaceNoPublicIPBooleanParameterArgs(value=args.no_public_ip)
        if args.vnet is None:
            return databricks.WorkspaceCustomParametersArgs(enable_no_public_ip=no_public_ip)
        vnet_id = self._vnet(name, args, args.vnet)
        return databricks.WorkspaceCustomParametersArgs(
            enable_no_public_ip=no_public_ip,
            custom_virtual_network_id=databricks.WorkspaceCustomStringParameterArgs(value=vnet_id),
            custom_public_subnet_name=databricks.WorkspaceCustomStringParameterArgs(value=PUBLIC_SUBNET),
            custom_private_subnet_name=databricks.WorkspaceCustomStringParameterArgs(value=PRIVATE_SUBNET),
        )

    def _vnet(self, name: str, args: WorkspaceArgs, vnet: VnetArgs) -> pulumi.Output[str]:
        """A VNet with the two subnets Databricks injects into, delegated to it and sharing one NSG."""
        # Imported here: the network SDK module alone takes seconds to load, and only VNet
        # injection needs it.
        from pulumi_azure_native import network  # noqa: PLC0415

        nsg = network.NetworkSecurityGroup(
            f"{name}-nsg",
            network_security_group_name=vnet.nsg_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            # Databricks adds its own rules to this NSG; do not fight it on every refresh.
            opts=self.child_opts(pulumi.ResourceOptions(ignore_changes=["securityRules"])),
        )
        subnets = [
            network.SubnetArgs(
                name=subnet_name,
                address_prefix=cidr,
                network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
                delegations=[
                    network.DelegationArgs(name="databricks", service_name="Microsoft.Databricks/workspaces")
                ],
            )
            for subnet_name, cidr in (
                (PUBLIC_SUBNET, vnet.public_subnet_cidr),
                (PRIVATE_SUBNET, vnet.private_subnet_cidr),
            )
        ]
        virtual_network = network.VirtualNetwork(
            f"{name}-vnet",
            virtual_network_name=vnet.vnet_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[vnet.address_space]),
            subnets=subnets,  # inline, so subnets are never diffed against a separate resource
            tags=args.tags,
            opts=self.child_opts(),
        )
        return virtual_network.id
