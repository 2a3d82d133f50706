"""Rules an environment's settings must obey, beyond their types.

They check the merged raw config, so they report alongside type errors: every problem at once.
A rule on ``projects[].<key>`` holds for each project, on its value after the environment's
``projectDefaults`` filled it (stacks/projects.py, resolve_projects).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.environment import PRODUCTION_LIKE, Environment
from stacks.projects import PROJECTS_KEY, entry_keys

_MISSING = object()
PROD_ONLY = frozenset({Environment.PROD})
EVERYWHERE = frozenset(Environment)
PER_PROJECT = f"{PROJECTS_KEY}[]."


@dataclass(frozen=True)
class EnvironmentRule:
    key: str  # dotted camelCase config path; `projects[].<key>`: every project's effective value
    environments: frozenset[Environment]
    holds: Callable[[Any], bool]
    allowed: str
    why: str


RULES: tuple[EnvironmentRule, ...] = (
    EnvironmentRule(
        "databricks.failureNotificationEmails",
        EVERYWHERE,
        bool,
        "at least one e-mail address",
        "a failed job must reach a person (the policy pack refuses silent jobs)",
    ),
    EnvironmentRule(
        "databricks.developerAccess",
        PRODUCTION_LIKE,
        lambda v: v == "read",
        "read",
        "only the platform's identities change what runs in uat/prod",
    ),
    EnvironmentRule(
        "databricks.forceDestroy",
        PRODUCTION_LIKE,
        lambda v: v is not True,
        "false",
        "a destroy must never drop the tables of uat/prod",
    ),
    EnvironmentRule(
        "keyVault.purgeProtection",
        PRODUCTION_LIKE,
        lambda v: v is True,
        "true",
        "deleted secrets must be recoverable",
    ),
    EnvironmentRule(
        "workspace.noPublicIp", PROD_ONLY, lambda v: v is True, "true", "prod cluster nodes get no public IP"
    ),
    EnvironmentRule(
        "protection.protectStateful",
        PROD_ONLY,
        lambda v: v is True,
        "true",
        "Pulumi must refuse to delete data",
    ),
    EnvironmentRule(
        "protection.deleteLock", PROD_ONLY, lambda v: v is True, "true", "Azure refuses deletes too"
    ),
    EnvironmentRule(
        "projects[].servingScaleToZero",
        PROD_ONLY,
        lambda v: v is False,
        "false",
        "no cold starts on prod traffic",
    ),
    EnvironmentRule(
        "model.requireApproval",
        PRODUCTION_LIKE,
        lambda v: v is True,
        "true",
        "a human approves a new champion",
    ),
)


def value_at(config: Mapping[str, Any], dotted_key: str) -> Any:
    """The value at a dotted path, or a sentinel when any level is missing."""
    value: Any = config
    for part in dotted_key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _checked_values(config: Mapping[str, Any], rule_key: str) -> list[tuple[str, Any]]:
    """``(reported key, value)`` pairs a rule checks: one, or one per project entry."""
    if not rule_key.startswith(PER_PROJECT):
        return [(rule_key, value_at(config, rule_key))]
    field = rule_key.removeprefix(PER_PROJECT)
    projects = config.get(PROJECTS_KEY)
    entries = projects if isinstance(projects, list) else []
    return [
        (f"{key}.{field}", value_at(entry, field))
        for key, entry in zip(entry_keys(entries), entries, strict=True)
        if isinstance(entry, Mapping)
    ]


def rule_violations(environment: Environment, config: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """``(key, value, message)`` for every rule this environment's merged config breaks."""
    violations = []
    for rule in RULES:
        if environment not in rule.environments:
            continue
        for key, value in _checked_values(config, rule.key):
            shown = None if value is _MISSING else value
            if value is _MISSING or not rule.holds(value):
                violations.append((key, shown, f"in {environment}, {rule.why}; allowed: {rule.allowed}"))
    return violations
