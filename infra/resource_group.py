"""The environment's resource group and, where settings ask, a delete lock on it."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, resources
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent


class ResourceGroupArgs(ComponentArgs):
    name: str = Field(description="physical resource group name (from naming.py)")
    location: str = Field(description="Azure region")
    tags: dict[str, str] = Field(description="common tags")
    protect: bool = Field(description="protect=True: Pulumi refuses to delete it")
    retain_on_delete: bool = Field(description="keep it in Azure when removed from the program")
    delete_lock: bool = Field(description="CanNotDelete management lock: Azure refuses to delete it")


class ResourceGroup(PlatformComponent):
    AREA = "azure"

    group_name: pulumi.Output[str]
    id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ResourceGroupArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=args.name,
            location=args.location,
            tags=args.tags,
            opts=self.child_opts(
                pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.retain_on_delete)
            ),
        )
        if args.delete_lock:
            # Even an Owner in the portal must remove this lock before the group can go.
            authorization.ManagementLockAtResourceGroupLevel(
                f"{name}-delete-lock",
                lock_name="do-not-delete",
                level=authorization.LockLevel.CAN_NOT_DELETE,
                notes="Production platform: remove this lock deliberately before deleting anything.",
                resource_group_name=group.name,
                opts=self.child_opts(pulumi.ResourceOptions(protect=args.protect)),
            )
        self.group_name = group.name
        self.id = group.id
        self.register(name=self.group_name, id=self.id)
