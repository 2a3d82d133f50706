"""The jobs' secret scope and who may read it.

Databricks-backed by default. Key Vault-backed on request: secrets then stay in the environment's
vault, but creating such a scope needs a Microsoft Entra ID token for the caller (the provider's
``azure-cli`` and ``github-oidc-azure`` auth both give one; a Databricks OAuth token does not).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Self

import pulumi
import pulumi_databricks as databricks
from pydantic import Field, model_validator

from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.unity_catalog import Role
from stacks.environment import Environment


class SecretScopeBackend(StrEnum):
    DATABRICKS = "databricks"
    AZURE_KEYVAULT = "azure_keyvault"


# ACL per role: (sandbox/dev, uat/prod); None = no entry. Readers never see secrets.
SECRET_ACLS: dict[Role, tuple[str | None, str | None]] = {
    Role.JOB_PRINCIPAL: ("READ", "READ"),
    Role.DEVELOPERS: ("READ", None),
}


class SecretScopeArgs(ComponentArgs):
    environment: Environment
    scope_name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    backend: SecretScopeBackend
    key_vault_id: StrInput | None = Field(default=None, description="Azure resource id of the vault.")
    key_vault_uri: StrInput | None = Field(default=None, description="https://<vault>.vault.azure.net/")
    principals: Mapping[Role, StrInput]
    provider: databricks.Provider

    @model_validator(mode="after")
    def _vault_given_for_keyvault_backend(self) -> Self:
        if self.backend is SecretScopeBackend.AZURE_KEYVAULT and (
            self.key_vault_id is None or self.key_vault_uri is None
        ):
            raise ValueError("secret scope backend azure_keyvault needs key_vault_id and key_vault_uri")
        return self


class JobSecretScope(PlatformComponent):
    AREA = "databricks"

    scope_name: pulumi.Output[str]

    def __init__(self, name: str, args: SecretScopeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        in_vault = args.backend is SecretScopeBackend.AZURE_KEYVAULT
        scope = databricks.SecretScope(
            f"{name}-scope",
            name=args.scope_name,
            backend_type="AZURE_KEYVAULT" if in_vault else "DATABRICKS",
            keyvault_metadata=databricks.SecretScopeKeyvaultMetadataArgs(
                resource_id=args.key_vault_id, dns_name=args.key_vault_uri
            )
            if in_vault and args.key_vault_id is not None and args.key_vault_uri is not None
            else None,
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider)),
        )
        production_like = args.environment.is_production_like
        for role, (dev_level, prod_level) in SECRET_ACLS.items():
            level = prod_level if production_like else dev_level
            if level is None:
                continue
            databricks.SecretAcl(
                f"{name}-{role.value.replace('_', '-')}-acl",
                scope=scope.name,
                principal=args.principals[role],
                permission=level,
                opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider)),
            )
        self.scope_name = scope.name
        self.register(scope_name=self.scope_name)
