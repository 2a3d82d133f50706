"""A committed ``Pulumi.<stack>.yaml`` as the Pulumi CLI hands its config to the program, offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stacks.stack_file import read_stack_file

SECRET_PLACEHOLDER = "offline-secret-placeholder"  # noqa: S105 - stands in for `secure:` values  # pragma: allowlist secret


def stack_config_from_file(path: Path, project: str) -> tuple[dict[str, str], frozenset[str]]:
    """Read ``Pulumi.<stack>.yaml`` as the CLI would hand it to the program.

    ``secure:`` values cannot be decrypted offline: they become a placeholder and the key is
    marked secret, so the program sees a secret exactly where a real run would.
    """
    raw: dict[str, Any] = read_stack_file(path).get("config") or {}
    config: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in raw.items():
        full_key = key if ":" in key else f"{project}:{key}"
        cleaned, has_secret = _replace_secure(value)
        if has_secret:
            secret_keys.add(full_key)
        config[full_key] = _as_config_string(cleaned)
    return config, frozenset(secret_keys)


def _as_config_string(value: Any) -> str:
    """The CLI passes scalars as their text and structured values as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def _replace_secure(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        items = {k: _replace_secure(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        pairs = [_replace_secure(v) for v in value]
        return [v for v, _ in pairs], any(s for _, s in pairs)
    return value, False
