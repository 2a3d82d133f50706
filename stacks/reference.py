"""Render the configuration reference (markdown) from the settings model and the defaults table.

python -m stacks.reference            print it
python -m stacks.reference --readme   rewrite the README's copy (between its markers)
"""

from __future__ import annotations

import json
import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from core.environment import Environment
from stacks.defaults import ENVIRONMENT_DEFAULTS, deep_merge
from stacks.marked import block, with_block
from stacks.projects import PROJECTS_KEY, ProjectSettings, resolve_projects
from stacks.rules import value_at
from stacks.settings import StackSettings

# Keys without a default, filled with a recognisable placeholder so the defaults can be shown.
_REQUIRED = "required"
_GUID = "00000000-0000-0000-0000-000000000000"
_PLACEHOLDERS: dict[str, Any] = {
    "platform": {"subscriptionId": _GUID},  # shown as "required"
    "github": {"owner": _REQUIRED, "repository": _REQUIRED},
    "databricks": {"accountId": _GUID},  # shown as "required"
    "bootstrap": {  # shown as "required"
        "previewPrincipalId": _GUID,
        "previewClientId": _GUID,
        "deployerPrincipalId": _GUID,
        "deployerClientId": _GUID,
        "backendUrl": "azblob://required?storage_account=required",
    },
    # One placeholder entry: its fields show what a project gets when its entry leaves them out.
    "projects": [{"name": "project-name", "path": "ml/projects/project-name"}],
}


def _leaves(model: type[BaseModel], prefix: str = "") -> list[tuple[str, Any, str]]:
    rows: list[tuple[str, Any, str]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        annotation = field.annotation
        if key == "environment":
            continue
        if key == PROJECTS_KEY:
            # A list of sections (projects): one row per field of an entry, `projects[].<field>`.
            rows.append((key, annotation, field.description or ""))
            rows.extend(_leaves(ProjectSettings, f"{key}[]."))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_leaves(annotation, f"{key}."))
        else:
            rows.append((key, annotation, field.description or ""))
    return rows


def _value(defaults: dict[str, Any], key: str) -> Any:
    """The default at a dotted key; ``<list>[].<field>``: the field of the placeholder entry."""
    if "[]." in key:
        head, field = key.split("[].", 1)
        return value_at(value_at(defaults, head)[0], field)
    return value_at(defaults, key)


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return annotation.__name__
        if hasattr(annotation, "__members__"):
            return " \\| ".join(str(member.value) for member in annotation.__members__.values())
        return annotation.__name__
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis and a is not type(None)]
    if type(None) in typing.get_args(annotation):
        return f"{_type_name(args[0])} (optional)"
    origin = typing.get_origin(annotation)
    inner = ", ".join(_type_name(typing.get_args(a)[0] if typing.get_args(a) else a) for a in args)
    return f"{getattr(origin, '__name__', 'optional')}[{inner}]" if inner else str(annotation)


def _defaults_per_environment() -> dict[Environment, dict[str, Any]]:
    defaults = {}
    for env in Environment:
        raw = deep_merge(ENVIRONMENT_DEFAULTS[env], _PLACEHOLDERS)
        raw = resolve_projects(raw)
        settings = StackSettings.model_validate({**raw, "environment": env})
        defaults[env] = settings.model_dump(mode="json", by_alias=True)
        defaults[env]["platform"]["subscriptionId"] = _REQUIRED
        defaults[env]["databricks"]["accountId"] = _REQUIRED
        defaults[env]["bootstrap"] = dict.fromkeys(defaults[env]["bootstrap"], _REQUIRED)
    return defaults


def render_reference() -> str:
    """A markdown table: key, type, default per environment, description."""
    defaults = _defaults_per_environment()
    envs = list(Environment)
    lines = [
        "| key (`mlops-platform:`) | type | " + " | ".join(envs) + " | description |",
        "|---|---|" + "---|" * len(envs) + "---|",
    ]
    for key, annotation, description in _leaves(StackSettings):
        values = [
            f"`{json.dumps(_REQUIRED if key == PROJECTS_KEY else _value(defaults[env], key))}`"
            for env in envs
        ]
        lines.append(f"| `{key}` | {_type_name(annotation)} | " + " | ".join(values) + f" | {description} |")
    return "\n".join(lines) + "\n"


README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = "config-reference"


def readme_reference(readme: str) -> str:
    """The reference as the README holds it (between its markers)."""
    return block(readme, BLOCK)


def with_reference(readme: str, reference: str) -> str:
    return with_block(readme, BLOCK, reference)


if __name__ == "__main__":
    if sys.argv[1:] == ["--readme"]:
        README.write_text(
            with_reference(README.read_text(encoding="utf-8"), render_reference()), encoding="utf-8"
        )
    else:
        sys.stdout.write(render_reference())
