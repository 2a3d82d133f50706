"""The offline plan: this project's ``pulumi preview`` without a cloud.

    python -m stacks.plan --stack dev          resource tree, counts, critical path
    python -m stacks.plan --stack dev --json   docs/contracts.md section 2, secrets masked
    python -m stacks.plan                      all four stacks and what differs between them
    python -m stacks.plan --stack uat --champion 3
                                               as after a training run: the champion alias is
                                               version 3 and the predictions table exists

By default a stack is planned as a brand-new environment: no model version, no table yet.

Bad config prints the one error listing every problem and exits with code 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from core.environment import Environment
from core.pulumi_project import PROJECT
from infra.wheel import WheelError
from stacks.console import FOLD, cli_console
from stacks.loading import ConfigError, namespace_values, settings_from_config
from stacks.offline import (
    FAKE_SUBSCRIPTION_ID,
    OfflineRun,
    WorkspaceState,
    run_offline,
    stack_config_from_file,
)
from stacks.plan_view import SHARED, critical_path, print_stack, project_counts, type_counts
from stacks.program import program
from stacks.projects import PROJECTS_KEY, predictions_table
from stacks.settings import StackSettings

ROOT = Path(__file__).resolve().parent.parent
EXIT_BAD_CONFIG = 2


def stack_file(stack: str, root: Path = ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def trained(champion_version: int, projects: Iterable[str] = ("iris",)) -> WorkspaceState:
    """The workspace after each project's training and batch run: a champion alias, and each
    project's predictions table."""
    return WorkspaceState(
        champion_version=champion_version, tables=tuple(predictions_table(name) for name in projects)
    )


def stack_projects(stack: str, root: Path = ROOT) -> tuple[str, ...]:
    """The names of the projects ``Pulumi.<stack>.yaml`` lists."""
    return tuple(project.name for project in stack_settings(stack, root).projects)


def plan_stack(
    stack: str,
    root: Path = ROOT,
    subscription_id: str | None = None,
    workspace: WorkspaceState | None = None,
) -> OfflineRun:
    """Run the real program for ``stack`` under mocks, with ``Pulumi.<stack>.yaml`` as its config.

    The run is logged in to ``subscription_id``; by default to the one the stack file names, as
    `az account set --subscription` would have done before a real `pulumi preview`. ``workspace``
    is what already exists in the Databricks workspace (default: nothing yet).
    """
    config, secret_keys = stack_config_from_file(stack_file(stack, root), PROJECT)
    logged_in = subscription_id or configured_subscription(config) or FAKE_SUBSCRIPTION_ID
    return run_offline(
        program,
        project=PROJECT,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        subscription_id=logged_in,
        workspace=workspace,
    )


def configured_subscription(config: dict[str, str]) -> str | None:
    """``platform.subscriptionId`` as the stack file spells it, unvalidated (the program checks it)."""
    platform, _ = namespace_values({k: v for k, v in config.items() if k == f"{PROJECT}:platform"})
    section = platform.get("platform")
    value = section.get("subscriptionId") if isinstance(section, dict) else None
    return value if isinstance(value, str) else None


def plan_json(run: OfflineRun) -> dict[str, Any]:
    """The contract JSON: inputs as the engine receives them, secrets and unknowns masked."""
    return {
        "stack": run.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "protect": r.protect,
                "dependencies": list(r.dependencies),
                "inputs": r.masked_inputs(),
                "options": r.options,
                # Only where a resource takes over a former URN: every other resource reads as before.
                **({"aliases": list(r.aliases)} if r.aliases else {}),
            }
            for r in run.resources
        ],
    }


def stack_settings(stack: str, root: Path = ROOT) -> StackSettings:
    """The validated settings of ``Pulumi.<stack>.yaml``, as the program would load them."""
    config, secret_keys = stack_config_from_file(stack_file(stack, root), PROJECT)
    return settings_from_config(stack, config, secret_keys)


def settings_differences(root: Path = ROOT) -> dict[str, dict[str, Any]]:
    """Dotted config key -> value per stack, for the keys whose values differ between stacks."""
    flat: dict[str, dict[str, Any]] = {}
    for env in Environment:
        settings = stack_settings(env, root)
        for key, value in _flatten(settings.model_dump(mode="json", by_alias=True)).items():
            flat.setdefault(key, {})[env] = value
    return {
        key: per_env for key, per_env in flat.items() if len({json.dumps(v) for v in per_env.values()}) > 1
    }


def _flatten(value: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        if key == PROJECTS_KEY and not prefix and isinstance(item, list):
            # One row per project and key: `projects[iris].margin`.
            for project in item:
                flat.update(_flatten(project, f"{PROJECTS_KEY}[{project['name']}]."))
        elif isinstance(item, dict) and item:
            flat.update(_flatten(item, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def print_comparison(console: Console, runs: dict[Environment, OfflineRun], root: Path = ROOT) -> None:
    envs = list(runs)
    counts = {env: type_counts(run) for env, run in runs.items()}
    table = Table(title="resources per type (* differs)")
    for column in ("type", *envs):
        table.add_column(column, overflow=FOLD)
    for type_ in sorted(set().union(*counts.values())):
        row = [str(counts[env][type_]) for env in envs]
        table.add_row(type_ + (" *" if len(set(row)) > 1 else ""), *row)
    table.add_row("[bold]total", *(str(sum(counts[env].values())) for env in envs))
    table.add_row("[bold]critical path", *(str(len(critical_path(runs[env].resources))) for env in envs))
    console.print(table)
    per_project = {env: project_counts(run) for env, run in runs.items()}
    projects = Table(title="resources per ML project (shared: the environment's own)")
    for column in ("project", *envs):
        projects.add_column(column, overflow=FOLD)
    for name in sorted(set().union(*per_project.values()), key=lambda n: (n == SHARED, n)):
        projects.add_row(escape(name), *(str(per_project[env][name]) for env in envs))
    console.print(projects)
    settings = Table(title="settings that differ between environments")
    settings.add_column("setting", no_wrap=True, overflow=FOLD)
    for env in envs:
        settings.add_column(env, overflow=FOLD)
    for key, per_env in sorted(settings_differences(root).items()):
        # `projects[iris].margin` is not rich markup.
        settings.add_row(escape(key), *(escape(json.dumps(per_env.get(env))) for env in envs))
    console.print(settings)


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.plan", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stack", choices=[e.value for e in Environment], help="plan one stack (default: all)"
    )
    parser.add_argument("--json", action="store_true", help="print the plan JSON (needs --stack)")
    parser.add_argument(
        "--champion",
        type=int,
        metavar="VERSION",
        help="plan as after training: the champion alias is VERSION (default: a brand-new environment)",
    )
    args = parser.parse_args(argv)
    console = cli_console()
    try:
        stacks = [args.stack] if args.stack else list(Environment)

        def workspace(stack: str) -> WorkspaceState | None:
            return None if args.champion is None else trained(args.champion, stack_projects(stack, root))

        if args.stack and args.json:
            run = plan_stack(args.stack, root, workspace=workspace(args.stack))
            sys.stdout.write(json.dumps(plan_json(run), indent=2, sort_keys=True) + "\n")
        elif args.stack:
            print_stack(console, plan_stack(args.stack, root, workspace=workspace(args.stack)))
        else:
            runs = {Environment(env): plan_stack(env, root, workspace=workspace(env)) for env in stacks}
            print_comparison(console, runs, root)
    except (ConfigError, WheelError) as error:
        cli_console(stderr=True).print(str(error), markup=False, highlight=False)
        return EXIT_BAD_CONFIG
    return 0


if __name__ == "__main__":
    # Everything imported so far (the provider SDKs: ~400k objects) lives as long as this process:
    # frozen, no collection walks it again (a third of the CPU time of planning all four stacks).
    gc.freeze()
    sys.exit(main())
