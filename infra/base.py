"""The plumbing every component shares: type token, parent-merged options, output registration."""

from __future__ import annotations

from typing import Any, ClassVar

import pulumi
from pydantic import BaseModel, ConfigDict

# What an args model accepts for a value that may come from another resource. ``pulumi.Input``
# itself cannot be a pydantic field (it names ``Awaitable`` and a forward reference).
StrInput = str | pulumi.Output[str]


class ComponentArgs(BaseModel):
    """Base for component args: frozen, typed, and unknown fields are an error, not a silent no-op."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class PlatformComponent(pulumi.ComponentResource):
    """A ComponentResource with the type token ``mlops:<area>:<Name>``.

    Subclasses set ``AREA``, create children with ``self.child_opts()`` so that they are parented
    to the component while keeping the caller's options, and end with ``self.register(...)``.
    """

    AREA: ClassVar[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"mlops:{self.AREA}:{type(self).__name__}", name, None, opts)
        self.name = name

    def child_opts(self, opts: pulumi.ResourceOptions | None = None) -> pulumi.ResourceOptions:
        """Options for a child resource: ``parent=self`` merged with whatever the child needs."""
        return pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), opts)

    def register(self, **outputs: Any) -> None:
        """Register the component's outputs under the same keys as its typed attributes."""
        self.register_outputs(outputs)
