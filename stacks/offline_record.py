"""What an offline run of the program produced: each registration as the engine receives it.

``run_offline`` (stacks/offline.py) fills these; the tests, the plan printer and the policy pack's
offline evaluator read them. Inputs keep the engine's wire form: secrets stay wrapped (``masked``
for printing, ``plain`` only for assertions) and values known only after apply stay unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc

SECRET_MASK = "[secret]"  # noqa: S105 - a mask, not a credential
UNKNOWN_MASK = "[computed]"


@dataclass(frozen=True)
class RecordedResource:
    """One resource registration as the engine would receive it."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    protect: bool
    dependencies: tuple[str, ...]
    provider: str
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    # The former URNs this resource takes over in the state (its own aliases and its parent's).
    aliases: tuple[str, ...] = ()

    def masked_inputs(self) -> dict[str, Any]:
        """Inputs with every secret value replaced by ``[secret]``."""
        masked: dict[str, Any] = mask_secrets(self.inputs)
        return masked

    def plain_inputs(self) -> dict[str, Any]:
        """Inputs with secrets unwrapped: only for assertions, never for printing."""
        plain: dict[str, Any] = unwrap_secrets(self.inputs)
        return plain

    def is_secret(self, key: str) -> bool:
        """Whether the top-level input ``key`` reaches the engine as a secret."""
        return rpc.is_rpc_secret(self.inputs.get(key))


@dataclass
class OfflineRun:
    """Everything one offline run of the program produced."""

    stack: str
    resources: list[RecordedResource]
    exports: dict[str, Any]
    secret_exports: frozenset[str]
    # What the program logged (pulumi.log): (severity, message), in order.
    messages: tuple[tuple[str, str], ...] = ()
    # The data sources (invoke tokens) the program read, in order: what a preview asks providers for.
    invokes: tuple[str, ...] = ()

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"expected one resource named {name!r}, found {len(matches)}")
        return matches[0]

    def by_urn(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.resources}


def mask_secrets(value: Any) -> Any:
    """Secrets become ``[secret]`` and values known only after apply become ``[computed]``."""
    if rpc.is_rpc_secret(value):
        return SECRET_MASK
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN_MASK
    if isinstance(value, dict):
        return {k: mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def unwrap_secrets(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return unwrap_secrets(value["value"])
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value
