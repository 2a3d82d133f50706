"""Turn a stack's Pulumi config into validated settings: the ONE place that reads ``pulumi.Config``.

``build_settings`` is pure (stack name + raw values in, settings or ConfigError out) so tests and
the offline plan use it without a Pulumi engine; ``load_settings`` feeds it from the engine.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from core.environment import Environment
from core.pulumi_project import PROJECT
from stacks.defaults import ENVIRONMENT_DEFAULTS, deep_merge
from stacks.problems import NAMESPACE, ConfigError, Problem
from stacks.projects import PROJECTS_KEY, entry_keys, project_conflicts, resolve_projects
from stacks.rules import rule_violations
from stacks.settings import StackSettings
from stacks.stack_file import read_stack_file
from stacks.types import pattern_meaning

ROOT = Path(__file__).resolve().parent.parent

__all__ = [
    "NAMESPACE",
    "ConfigError",
    "LoadedStack",
    "Problem",
    "build_settings",
    "load_settings",
    "namespace_values",
    "problem_from",
    "settings_from_config",
    "with_defaults",
]
# Config namespaces besides this project's: the providers the program registers resources with
# (their provider config, e.g. `azure-native:location`) and Pulumi's own (`pulumi:tags`).
OTHER_NAMESPACES = ("azure-native", "databricks", "pulumi")
# The one place secret config is referenced from: vault secret name -> secret config key.
SECRETS_KEY = "keyVault.secrets"  # pragma: allowlist secret


@dataclass(frozen=True)
class LoadedStack:
    """Validated settings plus the secret config values they reference (kept as secret Outputs)."""

    settings: StackSettings
    secrets: Mapping[str, pulumi.Output[str]]  # vault secret name -> secret value


def load_settings(root: Path = ROOT) -> LoadedStack:
    """Read the current stack's config from the engine, validate it, and fetch referenced secrets."""
    stack = pulumi.get_stack()
    # The engine hands over the merged config only: a key repeated in the stack file is already
    # gone (the CLI keeps the last one, stacks/stack_file.py). Read the file itself to refuse it.
    stack_file = root / f"Pulumi.{stack}.yaml"
    if stack_file.is_file():
        read_stack_file(stack_file)
    # The SDK has no public "list all keys" call; the engine hands every key to these two places.
    raw = {**pulumi_config.get_config_env(), **pulumi_config.CONFIG.get()}
    secret_keys = frozenset(key for key in raw if pulumi_config.is_config_secret(key))
    settings = settings_from_config(stack, raw, secret_keys)
    config = pulumi.Config(PROJECT)
    secrets = {name: config.require_secret(key) for name, key in sorted(settings.key_vault.secrets.items())}
    return LoadedStack(settings, secrets)


def settings_from_config(
    stack: str, config: Mapping[str, Any], secret_keys: Iterable[str] = ()
) -> StackSettings:
    """Validate a whole stack config as the CLI hands it over (``namespace:key`` -> value).

    A key of any namespace that is neither this project's nor a provider's is refused: the CLI
    passes it on without a word, and the program would never read it (a typo in the namespace).
    """
    foreign = unknown_namespace_problems(stack, config)
    values, secrets = namespace_values(config, frozenset(secret_keys))
    try:
        settings = build_settings(stack, values, secrets)
    except ConfigError as error:
        raise ConfigError(stack, [*foreign, *error.problems]) from None
    if foreign:
        raise ConfigError(stack, foreign)
    return settings


def unknown_namespace_problems(stack: str, config: Mapping[str, Any]) -> list[Problem]:
    """A problem per config key whose namespace belongs to neither this project nor a provider."""
    allowed = (PROJECT, *OTHER_NAMESPACES)
    problems = []
    for key in sorted(config):
        namespace = key.partition(":")[0]
        if namespace in allowed:
            continue
        close = difflib.get_close_matches(namespace, allowed, n=1)
        hint = f" (did you mean {close[0] + ':'!r}?)" if close else ""
        message = f"unknown namespace {namespace!r}{hint}; allowed: {', '.join(allowed)}"
        problems.append(Problem(stack, key, ..., message, namespace=""))
    return problems


def build_settings(
    stack: str, values: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()
) -> StackSettings:
    """Merge the environment's defaults with the stack's values and validate; raise ConfigError."""
    try:
        environment = Environment(stack)
    except ValueError:
        allowed = ", ".join(e.value for e in Environment)
        raise ConfigError(
            stack, [Problem(stack, "(stack name)", stack, f"unknown stack; allowed: {allowed}")]
        ) from None

    problems: list[Problem] = []
    referenced = _referenced_secret_keys(values)
    for secret_name, key in referenced.items():
        if key not in values:
            message = f"config key {key!r} is not set; run `pulumi config set --secret {key} <value>`"
        elif key not in secret_keys:
            message = f"config key {key!r} is plaintext; set it with `pulumi config set --secret {key}`"
        else:
            continue
        problems.append(Problem(stack, f"{SECRETS_KEY}.{secret_name}", key, message))
    if "environment" in values:
        problems.append(
            Problem(stack, "environment", values["environment"], "remove it: the stack name is it")
        )
    problems += [
        Problem(
            stack,
            key,
            None,
            f"must not be a secret: put secrets in their own key, referenced by {SECRETS_KEY}",
        )
        for key in sorted(secret_keys - set(referenced.values()))
        if key in values
    ]

    # A section left empty (`platform:` and nothing under it) is YAML null: read as absent, so its
    # required keys are named instead of "not a valid dictionary".
    sections = {
        k: v
        for k, v in values.items()
        if k not in set(referenced.values()) and k != "environment" and v is not None
    }
    merged = with_defaults(environment, sections)
    problems += [
        Problem(stack, key, value, message)
        for key, value, message in (*rule_violations(environment, merged), *project_conflicts(merged))
    ]
    try:
        settings = StackSettings.model_validate({**merged, "environment": environment})
    except ValidationError as error:
        problems[:0] = [_named_entry(problem_from(stack, d), merged) for d in error.errors()]
    if problems:
        raise ConfigError(stack, problems)
    return settings


def with_defaults(environment: Environment, sections: Mapping[str, Any]) -> dict[str, Any]:
    """The stack's sections over its environment's defaults, each project's entry filled in."""
    # An absent `platform` section is reported as its required key (platform.subscriptionId).
    return resolve_projects(deep_merge({"platform": {}, **ENVIRONMENT_DEFAULTS[environment]}, dict(sections)))


def namespace_values(
    config: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], frozenset[str]]:
    """This project's keys (namespace stripped, JSON decoded) and which of them are secret."""
    values = {
        key.removeprefix(NAMESPACE): _decode(value)
        for key, value in config.items()
        if key.startswith(NAMESPACE)
    }
    return values, frozenset(key.removeprefix(NAMESPACE) for key in secret_keys if key.startswith(NAMESPACE))


def _named_entry(problem: Problem, merged: Mapping[str, Any]) -> Problem:
    """``projects.1.schema`` reads ``projects[diabetes].schema``: the entry by its name."""
    head, _, rest = problem.key.partition(".")
    index, _, field = rest.partition(".")
    projects = merged.get(PROJECTS_KEY)
    if head != PROJECTS_KEY or not index.isdigit() or not isinstance(projects, list):
        return problem
    if int(index) >= len(projects):
        return problem
    key = entry_keys(projects)[int(index)] + (f".{field}" if field else "")
    return dataclasses.replace(problem, key=key)


def _referenced_secret_keys(values: Mapping[str, Any]) -> dict[str, str]:
    section, _, key = SECRETS_KEY.partition(".")
    vault = values.get(section)
    named = vault.get(key) if isinstance(vault, dict) else None
    return {str(k): v for k, v in named.items() if isinstance(v, str)} if isinstance(named, dict) else {}


def _decode(value: Any) -> Any:
    """The engine passes structured values as JSON text and scalars as their text."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def problem_from(
    stack: str, detail: ErrorDetails, root: type[BaseModel] = StackSettings, namespace: str = NAMESPACE
) -> Problem:
    """One pydantic error as a Problem: the dotted key, what was given, and what is allowed."""
    loc = [str(part) for part in detail["loc"] if part != "[key]"]
    key = ".".join(loc)
    message = detail["msg"].removeprefix("Value error, ")
    value: Any = None if detail["type"] == "missing" else detail["input"]
    if detail["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1], root)
        close = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        message = f"unknown key{hint}; allowed: {', '.join(known)}"
    elif detail["type"] == "missing":
        message = f"required; {_description(loc, root) or 'set it in the stack file'}"
    elif detail["type"] == "string_pattern_mismatch":
        pattern = str((detail.get("ctx") or {}).get("pattern", ""))
        description = _description(loc, root)
        message = f"expected {pattern_meaning(pattern)}" + (f" ({description})" if description else "")
    elif "allowed" not in message and (description := _description(loc, root)):
        message = f"{message} ({description})"
    return Problem(stack, key, value, message, namespace)


def _model_at(path: list[str], root: type[BaseModel]) -> type[BaseModel] | None:
    model: type[BaseModel] = root
    for part in path:
        if part.isdigit():  # an entry of a list of sections (projects): the section's model
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        annotation = field.annotation if field else None
        if typing.get_origin(annotation) is tuple:
            annotation = typing.get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _known_keys(path: list[str], root: type[BaseModel]) -> list[str]:
    model = _model_at(path, root)
    if model is None:
        return []
    return [f.alias or n for n, f in model.model_fields.items() if (f.alias or n) != "environment"]


def _description(loc: list[str], root: type[BaseModel]) -> str | None:
    loc = [part for part in loc if not part.isdigit()]  # list items share their field's description
    model = _model_at(loc[:-1], root)
    if model is None:
        return None
    field = next((f for n, f in model.model_fields.items() if (f.alias or n) == loc[-1]), None)
    return field.description if field else None
