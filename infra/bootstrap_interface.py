"""The declared interface between the bootstrap project and the environment stacks.

The bootstrap stack exports ``BootstrapOutputs``' keys (camelCase) among its outputs; each
environment stack receives them as its config section ``mlops-platform:bootstrap``, written by
``python -m bootstrap.handoff`` from ``pulumi stack output --json`` of the bootstrap stack. A
StackReference cannot do it here: the bootstrap's own state lives outside the environments'
backend (it creates that backend), and Pulumi resolves stack references within one backend only.
Config also keeps the environments' deployers from needing any access to the bootstrap's state.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Guid = Annotated[str, Field(pattern=GUID_PATTERN)]
HANDOFF_HINT = "written by `make bootstrap` (python -m bootstrap.handoff) from the bootstrap stack's output"


class BootstrapOutputs(BaseModel):
    """What an environment stack reads from the bootstrap stack: the PR-preview identity's ids."""

    # Same shape as the settings sections: frozen, camelCase keys, an unknown key is an error.
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, validate_by_alias=True, validate_by_name=False
    )

    preview_principal_id: Guid = Field(
        alias="previewPrincipalId",
        description=f"object id of the PR-preview identity; {HANDOFF_HINT} previewPrincipalId",
    )
    preview_client_id: Guid = Field(  # type: ignore[pydantic-alias]
        alias="previewClientId",
        description=f"client (application) id of the PR-preview identity; {HANDOFF_HINT} previewClientId",
    )


def interface_keys() -> tuple[str, ...]:
    """The bootstrap outputs the environments consume, in declaration order."""
    return tuple(field.alias or name for name, field in BootstrapOutputs.model_fields.items())
