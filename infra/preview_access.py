"""What one environment grants the PR-preview identity: what a ``pulumi preview --refresh`` reads.

The identity itself belongs to the bootstrap project (``infra/bootstrap_access.py``, which also
grants it the state backend and this stack's secrets key); its ids reach this stack through the
declared interface (``infra/bootstrap_interface.py``, config section ``bootstrap``). Here it gets
*Reader* on the environment's resource group, the control-plane read every azure-native resource
of the stack needs on refresh (Key Vault secrets are read through ARM too, without their values),
and nothing that writes. The deployer may hand out Reader on its own group (``DELEGABLE_ROLES``), so
CI keeps this assignment after the first ``pulumi up``.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.identity import role_assignment_name, role_definition_id

PREVIEW_AZURE_ROLE = "Reader"


class PreviewAccessArgs(ComponentArgs):
    environment: str = Field(description="the stack name")
    subscription_id: StrInput = Field(description="for role definition ids")
    resource_group_id: StrInput = Field(description="the environment's resource group: the Reader scope")
    preview_principal_id: str = Field(description="object id of the PR-preview identity (bootstrap output)")


class PreviewAccess(PlatformComponent):
    AREA = "azure"

    def __init__(
        self, name: str, args: PreviewAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        authorization.RoleAssignment(
            f"{name}-reader",
            role_assignment_name=role_assignment_name(args.environment, "preview", args.preview_principal_id),
            principal_id=args.preview_principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition_id(args.subscription_id, PREVIEW_AZURE_ROLE),
            scope=args.resource_group_id,
            description="PR previews: read the environment (bootstrap's preview identity)",
            opts=self.child_opts(),
        )
        self.register()
