"""The ML projects an environment hosts: ``mlops-platform:projects``, one entry per project.

A project is a folder with its own wheel (Iris: ``ml/``; further ones: ``ml/projects/<name>/``),
built by ``make wheel`` into ``dist/<name>/``. Its entry names it and may override what the
environment gives every project (``projectDefaults``: gate metric and margin, serving size and
scale-to-zero, schedules) and its own names (schema, model, developers group). Defaults apply per
project before validation (``resolve_projects``), so the environment's rules check each project's
effective values (stacks/rules.py), and ``project_conflicts`` refuses two projects that would
write the same schema, model, endpoint or group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any

from mlops_framework.vocabulary import DECISION_DEFAULTS, PrimaryMetric, Tables
from pydantic import Field

from infra.model_serving import WorkloadSize as ServingWorkloadSize
from stacks.settings_base import PROMOTABLE, Section
from stacks.types import PROJECT_NAME_PATTERN, PROJECT_PATH_PATTERN, UcIdentifier, WheelSha256, WheelVersion

PROJECTS_KEY = "projects"
DEFAULTS_KEY = "projectDefaults"
ProjectName = Annotated[
    str, Field(pattern=PROJECT_NAME_PATTERN, description="lowercase letters, digits, hyphens; 2-21")
]
ProjectPath = Annotated[
    str,
    Field(
        pattern=PROJECT_PATH_PATTERN,
        description="a folder of this repository, relative to its root, e.g. ml/projects/diabetes",
    ),
]


class ProjectDefaults(Section):
    """What every project of the environment gets unless its entry overrides it."""

    primary_metric: PrimaryMetric = Field(PrimaryMetric.F1_MACRO, description="gate metric")
    margin: float = Field(
        DECISION_DEFAULTS.margin, ge=0.0, le=1.0, description="challenger must beat champion by this"
    )
    serving_workload_size: ServingWorkloadSize = Field(ServingWorkloadSize.SMALL, description="endpoint size")
    serving_scale_to_zero: bool = Field(True, description="endpoint scales to zero when idle (never prod)")
    schedules_enabled: bool = Field(False, description="job schedules unpaused")


class ProjectSettings(Section):
    """One project, its defaults resolved (``resolve_projects``): every field has its value."""

    name: ProjectName = Field(
        alias="name", description="the project; names its jobs and its wheel folder dist/<name>/"
    )
    path: ProjectPath = Field(alias="path", description="the project folder (its pyproject.toml)")
    schema_: UcIdentifier = Field(
        alias="schema", description="its schema inside the catalog; default: the name, `-` as `_`"
    )
    model_name: UcIdentifier = Field(
        alias="modelName", description="its registered model (and endpoint); default: <schema>_model"
    )
    developers_group: str = Field(
        alias="developersGroup",
        min_length=1,
        description="account group of its developers, granted on this project only; "
        "default: mlops-<name>-developers",
    )
    primary_metric: PrimaryMetric = Field(
        alias="primaryMetric", description="gate metric", json_schema_extra=PROMOTABLE
    )
    margin: float = Field(
        alias="margin",
        ge=0.0,
        le=1.0,
        description="challenger must beat champion by this",
        json_schema_extra=PROMOTABLE,
    )
    serving_workload_size: ServingWorkloadSize = Field(
        alias="servingWorkloadSize", description="endpoint size"
    )
    serving_scale_to_zero: bool = Field(
        alias="servingScaleToZero", description="endpoint scales to zero when idle (never prod)"
    )
    schedules_enabled: bool = Field(alias="schedulesEnabled", description="job schedules unpaused")
    wheel_version: WheelVersion | None = Field(
        None, description="pin its wheel version (set by promotion)", json_schema_extra=PROMOTABLE
    )
    wheel_sha256: WheelSha256 | None = Field(
        None,
        description="pin the wheel file's sha256, the bytes the previous environment ran (set by promotion); "
        "another build of the same version is refused",
        json_schema_extra=PROMOTABLE,
    )
    state_from_single_project: bool = Field(
        False,
        description="its resources were deployed before projects existed: they alias their former "
        "URNs, so `pulumi up` moves them in the state (README, moving state); at most one project",
    )

    @property
    def key(self) -> str:
        """How problems name this entry: ``projects[<name>]``."""
        return f"{PROJECTS_KEY}[{self.name}]"


def schema_for(name: str) -> str:
    return name.replace("-", "_")


def predictions_table(name: str) -> str:
    """The table a project's batch scoring writes and its quality monitor watches, named by the
    wheel's own rule; a project's spec prefixes its tables with its schema name (the template does)."""
    return Tables.prefixed(schema_for(name)).predictions


def derived_defaults(name: str) -> dict[str, str]:
    """The names a project gets unless its entry sets them."""
    schema = schema_for(name)
    return {"schema": schema, "modelName": f"{schema}_model", "developersGroup": f"mlops-{name}-developers"}


def resolve_projects(merged: Mapping[str, Any]) -> dict[str, Any]:
    """Fill every project entry with its derived names and the environment's ``projectDefaults``.

    Nothing is validated here: a bad default or a malformed entry is reported by validation, with
    the entry's key.
    """
    given = merged.get(DEFAULTS_KEY)
    default_values = {
        field.alias or name: field.default for name, field in ProjectDefaults.model_fields.items()
    } | (dict(given) if isinstance(given, Mapping) else {})
    projects = merged.get(PROJECTS_KEY)
    if not isinstance(projects, list):
        return dict(merged)
    resolved: list[Any] = []
    for entry in projects:
        if not isinstance(entry, Mapping):
            resolved.append(entry)
            continue
        name = entry.get("name")
        derived = derived_defaults(name) if isinstance(name, str) else {}
        if isinstance(entry.get("schema"), str):
            derived["modelName"] = f"{entry['schema']}_model"
        resolved.append({**default_values, **derived, **entry})
    return {**merged, PROJECTS_KEY: resolved}


def entry_keys(projects: list[Any]) -> list[str]:
    """How problems name each entry: ``projects[<name>]``, or ``projects.<index>`` for an entry
    without a name or whose name another entry has too."""
    names = [entry.get("name") if isinstance(entry, Mapping) else None for entry in projects]
    counts = Counter(names)
    return [
        f"{PROJECTS_KEY}[{name}]"
        if isinstance(name, str) and counts[name] == 1
        else f"{PROJECTS_KEY}.{index}"
        for index, name in enumerate(names)
    ]


# Fields two projects may not share, and what sharing would break.
UNIQUE_FIELDS: dict[str, str] = {
    "name": "names its jobs and its wheel folder",
    "path": "one folder builds one wheel",
    "schema": "a project's tables, volume and model live in its own schema",
    "modelName": "the model names the serving endpoint and the MLflow experiment",
    "developersGroup": "a project's developers touch only their own project",
}


def project_conflicts(merged: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """``(key, value, message)`` for each value two projects share, and for an empty list."""
    projects = merged.get(PROJECTS_KEY)
    if not isinstance(projects, list):
        return []  # missing or not a list: validation reports it
    if not projects:
        return [(PROJECTS_KEY, projects, "no project; allowed: at least one entry {name, path}")]
    keys = entry_keys(projects)
    problems: list[tuple[str, Any, str]] = []
    for field, why in UNIQUE_FIELDS.items():
        values = [entry.get(field) if isinstance(entry, Mapping) else None for entry in projects]
        seen = Counter(v for v in values if isinstance(v, str))
        for index, value in enumerate(values):
            if isinstance(value, str) and seen[value] > 1:
                others = [keys[i] for i, v in enumerate(values) if v == value and i != index]
                problems.append(
                    (
                        f"{keys[index]}.{field}",
                        value,
                        f"also used by {', '.join(others)} ({why}); allowed: a {field} no other project uses",
                    )
                )
    moved = [
        keys[index]
        for index, entry in enumerate(projects)
        if isinstance(entry, Mapping) and entry.get("stateFromSingleProject") is True
    ]
    if len(moved) > 1:
        problems += [
            (
                f"{key}.stateFromSingleProject",
                True,
                "more than one project claims the single-project "
                "state; allowed: true on the one project deployed before projects existed",
            )
            for key in moved
        ]
    return problems
