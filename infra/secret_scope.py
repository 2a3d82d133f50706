"""The jobs' secret scope and who may read it.

Databricks-backed only. A Key Vault-backed scope was an option and is gone: it needs the
``AzureDatabricks`` enterprise application granted *Key Vault Secrets User* on the vault, whose
object id differs per tenant and which azure-native cannot look up, and Databricks reads the vault
from its control plane, which the uat/prod vault firewall (``Deny``) refuses unless public access
is opened to it (https://learn.microsoft.com/azure/databricks/security/secrets/#configure-your-azure-key-vault-instance-for-azure-databricks).
The policy ``secret-scope-databricks-backed`` keeps it out.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from infra.access import Role
from infra.base import ComponentArgs, PlatformComponent, StrInput


class SecretScopeArgs(ComponentArgs):
    scope_name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$")
    principals: Mapping[Role, StrInput]
    acls: Mapping[Role, str] = Field(description="ACL level per role (AccessLevels.secrets); absent: none.")
    developers: Mapping[str, str] = Field(description="Each project's developers group, by project.")
    moved_project: str | None = Field(
        default=None,
        description="The project whose developers held the single-project ACL: it aliases that URN.",
    )
    provider: databricks.Provider


class JobSecretScope(PlatformComponent):
    AREA = "databricks"

    scope_name: pulumi.Output[str]

    def __init__(self, name: str, args: SecretScopeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        scope = databricks.SecretScope(
            f"{name}-scope",
            name=args.scope_name,
            backend_type="DATABRICKS",
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider)),
        )
        for role, level in args.acls.items():
            acl_name = f"{name}-{role.value.replace('_', '-')}"
            grantees: dict[str, tuple[StrInput, str | None]]
            if role is not Role.DEVELOPERS:
                grantees = {f"{acl_name}-acl": (args.principals[role], None)}
            else:  # one ACL per project's group; the former single one is the moved project's
                grantees = {
                    f"{acl_name}-{project}-acl": (
                        group,
                        f"{acl_name}-acl" if project == args.moved_project else None,
                    )
                    for project, group in sorted(args.developers.items())
                }
            for acl, (principal, former) in grantees.items():
                databricks.SecretAcl(
                    acl,
                    scope=scope.name,
                    principal=principal,
                    permission=level,
                    opts=self.child_opts(
                        pulumi.ResourceOptions(
                            provider=args.provider, aliases=[pulumi.Alias(name=former)] if former else None
                        )
                    ),
                )
        self.scope_name = scope.name
        self.register(scope_name=self.scope_name)
