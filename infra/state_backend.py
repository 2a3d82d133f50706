"""Where every environment's Pulumi state lives, and the key that encrypts each stack's secrets.

The state backend is a storage account with one private container per environment
(core/backend.py: a deployer is granted its own environment's container only). Pulumi's DIY backend
opens ``azblob://<container>?storage_account=<account>`` with gocloud.dev's azureblob driver, which
uses ``azidentity.NewDefaultAzureCredential`` (``az login`` locally, OIDC in CI) whenever no
``AZURE_STORAGE_KEY``, SAS token or connection string is set (google/go-cloud
``blob/azureblob/azureblob.go``; the ``storage_account`` query parameter came with pulumi/pulumi#10900).
So shared keys are disabled: every reader and writer is an Entra identity with a data-plane role.

The secrets provider is a Key Vault (RBAC, purge protection) with one RSA key per environment.
``azurekeyvault://`` URLs are opened by gocloud.dev's ``secrets/azurekeyvault``, which calls the
key's ``encrypt`` and ``decrypt`` operations (RSA-OAEP-256 by default), the operations the
*Key Vault Crypto User* role allows; one key per environment keeps dev's deployer from decrypting
prod's secrets.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import keyvault, storage
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent, StrInput

KEY_SIZE = 3072
KEY_OPERATIONS: tuple[str, ...] = ("encrypt", "decrypt")  # what gocloud.dev's keeper calls


class StateBackendArgs(ComponentArgs):
    resource_group_name: StrInput = Field(description="the bootstrap's resource group")
    location: str = Field(description="Azure region")
    tags: dict[str, str] = Field(description="common tags")
    account_name: str = Field(description="physical storage account name (3-24, globally unique)")
    container_names: dict[str, str] = Field(description="environment -> the container holding its state")
    storage_sku: str = Field(description="redundancy of the state account")
    soft_delete_days: int = Field(ge=1, le=365, description="days deleted blobs and containers are kept")
    vault_name: str = Field(description="physical Key Vault name (3-24, globally unique)")
    tenant_id: StrInput = Field(description="Entra tenant the vault trusts")
    vault_soft_delete_days: int = Field(ge=7, le=90, description="days a deleted vault is kept")
    key_names: dict[str, str] = Field(description="environment -> secrets-provider key name")
    protect: bool = Field(description="protect=True and retain-on-delete on the account, container and vault")


class StateBackend(PlatformComponent):
    AREA = "bootstrap"

    storage_account_name: pulumi.Output[str]
    container_ids: dict[str, pulumi.Output[str]]
    backend_urls: dict[str, pulumi.Output[str]]
    vault_id: pulumi.Output[str]
    key_ids: dict[str, pulumi.Output[str]]
    secrets_providers: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        stateful = self.child_opts(
            pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
        )
        account = storage.StorageAccount(
            f"{name}-account",
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=args.storage_sku),
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            tags=args.tags,
            opts=stateful,
        )
        # Every write of a state file keeps the previous version; a deleted blob or container
        # stays recoverable for soft_delete_days.
        storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.soft_delete_days
            ),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=args.soft_delete_days
            ),
            opts=self.child_opts(),
        )
        self.container_ids, self.backend_urls = {}, {}
        for environment, container_name in sorted(args.container_names.items()):
            container = storage.BlobContainer(
                f"{name}-container-{environment}",
                container_name=container_name,
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                public_access=storage.PublicAccess.NONE,
                opts=stateful,
            )
            self.container_ids[environment] = container.id
            self.backend_urls[environment] = pulumi.Output.concat(
                "azblob://", container.name, "?storage_account=", account.name
            )
        vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.vault_soft_delete_days,
                # Losing this vault loses every stack's secrets: it can never be purged early.
                enable_purge_protection=True,
            ),
            tags=args.tags,
            opts=stateful,
        )
        vault_uri = vault.properties.apply(lambda properties: properties.vault_uri)
        self.key_ids = {}
        self.secrets_providers = {}
        for environment, key_name in sorted(args.key_names.items()):
            # Created through ARM (management plane): the person running the bootstrap needs no
            # data-plane role on the vault.
            key = keyvault.Key(
                f"{name}-key-{environment}",
                key_name=key_name,
                vault_name=vault.name,
                resource_group_name=args.resource_group_name,
                properties=keyvault.KeyPropertiesArgs(
                    kty=keyvault.JsonWebKeyType.RSA, key_size=KEY_SIZE, key_ops=list(KEY_OPERATIONS)
                ),
                tags=args.tags,
                opts=stateful,
            )
            self.key_ids[environment] = key.id
            self.secrets_providers[environment] = secrets_provider_url(vault_uri, key_name)
        self.storage_account_name = account.name
        self.vault_id = vault.id
        self.register(
            storage_account_name=self.storage_account_name,
            backend_urls=self.backend_urls,
            vault_id=self.vault_id,
            secrets_providers=self.secrets_providers,
        )


def secrets_provider_url(vault_uri: pulumi.Input[str], key_name: str) -> pulumi.Output[str]:
    """``https://<vault>.vault.azure.net/`` + key -> ``azurekeyvault://<vault>.vault.azure.net/keys/<key>``."""
    return pulumi.Output.from_input(vault_uri).apply(
        lambda uri: f"{uri.replace('https://', 'azurekeyvault://', 1).rstrip('/')}/keys/{key_name}"
    )
