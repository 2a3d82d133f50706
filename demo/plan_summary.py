"""One compact table of the four offline plans: how big each environment is and what differs."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Group
from rich.markup import escape
from rich.table import Table

from core.environment import Environment
from stacks.console import FOLD
from stacks.offline import OfflineRun
from stacks.plan import settings_differences
from stacks.plan_view import critical_path

# Where a resource lives, by its type token's package.
PROVIDERS = {"azure-native": "Azure", "databricks": "Databricks", "github": "GitHub", "time": "waits (time)"}


def _count(run: OfflineRun, package: str) -> int:
    return sum(r.custom and r.type.split(":")[0] == package for r in run.resources)


def compact_plan(runs: dict[Environment, OfflineRun], root: Path) -> tuple[Group, int]:
    envs = list(runs)
    table = Table("resources", *envs, title="offline plan of every stack")
    for package, label in PROVIDERS.items():
        table.add_row(label, *(str(_count(runs[env], package)) for env in envs))
    table.add_row(
        "protected (protect=True)", *(str(sum(r.protect for r in runs[env].resources)) for env in envs)
    )
    table.add_row("deploy critical path", *(str(len(critical_path(runs[env].resources))) for env in envs))
    totals = [sum(r.custom for r in runs[env].resources) for env in envs]
    table.add_row("[bold]total", *(f"[bold]{t}" for t in totals))
    differs = Table(title="what differs between environments")
    differs.add_column("setting", no_wrap=True, min_width=34, overflow=FOLD)
    for env in envs:
        differs.add_column(env, overflow=FOLD)
    for key, per_env in sorted(settings_differences(root).items()):
        if key == "environment":
            continue
        # `projects[iris].margin` and `["main"]` are text, not rich markup.
        differs.add_row(escape(key), *(escape(_shown(per_env.get(env))) for env in envs))
    return Group(table, differs), sum(totals)


def _shown(value: object) -> str:
    """The whole value: a narrow column folds it onto more lines, never cuts it."""
    return value if isinstance(value, str) else json.dumps(value)
