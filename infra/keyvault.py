"""The environment's Key Vault: RBAC only, soft delete, purge protection where settings ask.

Purge protection can never be switched off once on, and Azure rejects an explicit ``false``
on a vault that has it; so where it is off the property is omitted, never set to ``False``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
from pulumi_azure_native import keyvault
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.monitoring import send_diagnostics


class KeyVaultArgs(ComponentArgs):
    resource_group_name: StrInput = Field(description="the environment's resource group")
    location: str = Field(description="Azure region")
    tags: dict[str, str] = Field(description="common tags")
    vault_name: str = Field(description="physical vault name (3-24, globally unique)")
    tenant_id: StrInput = Field(description="Entra tenant the vault trusts")
    sku: str = Field(description="standard or premium")
    soft_delete_retention_days: int = Field(description="7-90 days")
    purge_protection: bool = Field(description="turn purge protection on (omitted when off)")
    network_default_action: str = Field(description="Allow or Deny for traffic no rule matches")
    allowed_ip_ranges: tuple[str, ...] = Field(description="IPv4 ranges let through the firewall")
    log_analytics_workspace_id: StrInput = Field(description="where diagnostics go")
    secrets: Mapping[str, pulumi.Output[str]] = Field(description="secret name -> secret value to store")
    protect: bool = Field(description="protect the vault")
    retain_on_delete: bool = Field(description="keep the vault in Azure when removed from code")


def vault_secret_name(name: str) -> str:
    """Key Vault secret names allow letters, digits and hyphens: ``SLACK_WEBHOOK`` -> ``slack-webhook``."""
    return name.lower().replace("_", "-")


class KeyVault(PlatformComponent):
    AREA = "azure"

    id: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    vault_uri: pulumi.Output[str]

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName(args.sku)),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.soft_delete_retention_days,
                enable_purge_protection=True if args.purge_protection else None,
                network_acls=keyvault.NetworkRuleSetArgs(
                    bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                    default_action=args.network_default_action,
                    ip_rules=[keyvault.IPRuleArgs(value=cidr) for cidr in args.allowed_ip_ranges],
                ),
            ),
            tags=args.tags,
            opts=self.child_opts(
                pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.retain_on_delete)
            ),
        )
        send_diagnostics(
            f"{name}-diagnostics",
            resource_uri=vault.id,
            log_analytics_workspace_id=args.log_analytics_workspace_id,
            opts=self.child_opts(),
        )
        # Written through ARM (management plane), so the vault firewall does not block the deployer.
        for secret_name, value in sorted(args.secrets.items()):
            keyvault.Secret(
                f"{name}-secret-{vault_secret_name(secret_name)}",
                secret_name=vault_secret_name(secret_name),
                vault_name=vault.name,
                resource_group_name=args.resource_group_name,
                properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value)),
                tags=args.tags,
                opts=self.child_opts(),
            )
        self.id = vault.id
        self.vault_name = vault.name
        self.vault_uri = vault.properties.apply(lambda properties: properties.vault_uri)
        self.register(id=self.id, vault_name=self.vault_name, vault_uri=self.vault_uri)
