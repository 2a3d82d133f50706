"""The declared interface between the bootstrap project and the environment stacks.

The bootstrap stack exports, per environment under its output ``environments``, ``BootstrapOutputs``'
keys (camelCase); each environment stack receives its own as its config section
``mlops-platform:bootstrap``, written by ``python -m bootstrap.handoff`` from ``pulumi stack output
--json`` of the bootstrap stack. Each environment gets its own values: sandbox and dev are previewed
by the pull requests' identity, uat and prod by the release preview identity, and each has its own
state container (core/deployments.py, core/backend.py). A
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
    """What an environment stack reads from the bootstrap stack: its preview identity, its deployer,
    its backend."""

    # Same shape as the settings sections: frozen, camelCase keys, an unknown key is an error.
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, validate_by_alias=True, validate_by_name=False
    )

    preview_principal_id: Guid = Field(
        alias="previewPrincipalId",
        description=f"object id of the identity that previews this environment; {HANDOFF_HINT} "
        "environments.<env>.previewPrincipalId",
    )
    preview_client_id: Guid = Field(
        alias="previewClientId",
        description=f"client (application) id of that identity; {HANDOFF_HINT} "
        "environments.<env>.previewClientId",
    )
    deployer_principal_id: Guid = Field(
        alias="deployerPrincipalId",
        description="object id of this environment's deployer (the bootstrap creates it); "
        f"{HANDOFF_HINT} environments.<env>.deployerPrincipalId",
    )
    deployer_client_id: Guid = Field(
        alias="deployerClientId",
        description="client (application) id of that deployer: CI's login, its Databricks service "
        f"principal; {HANDOFF_HINT} environments.<env>.deployerClientId",
    )
    backend_url: str = Field(  # type: ignore[pydantic-alias]
        alias="backendUrl",
        pattern=r"^azblob://[a-z0-9-]+\?storage_account=[a-z0-9]+$",
        description="where this environment's state lives (its own container; CI logs in to it); "
        f"{HANDOFF_HINT} environments.<env>.backendUrl",
    )


def interface_keys() -> tuple[str, ...]:
    """The bootstrap outputs the environments consume, in declaration order."""
    return tuple(field.alias or name for name, field in BootstrapOutputs.model_fields.items())
