"""Reading nested provider inputs (camelCase dicts and lists) without KeyErrors or type surprises."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SECRET_MASK = "[secret]"  # noqa: S105 - how the offline plan shows a secret value
UNKNOWN_MASK = "[computed]"  # how the offline plan shows a value known only after apply


def get_path(props: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``properties.enableSoftDelete``), or None when any step is missing."""
    value: Any = props
    for step in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def mappings(value: Any) -> list[Mapping[str, Any]]:
    """The dict items of a list input (``servedEntities``), ignoring anything else."""
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def non_empty(value: Any) -> bool:
    """A list, dict or string with something in it."""
    return isinstance(value, Sequence | Mapping) and len(value) > 0


def number(value: Any) -> float | None:
    """A numeric property, or None. The engine sends every number as a double (3600 -> 3600.0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
