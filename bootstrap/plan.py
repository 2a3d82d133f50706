"""The bootstrap project's offline plan: the same mocks, tree and JSON as ``python -m stacks.plan``.

    python -m bootstrap.plan                          every bootstrap stack (bootstrap/Pulumi.*.yaml)
    python -m bootstrap.plan --stack example-org      one stack's resource tree, counts, critical path
    python -m bootstrap.plan --stack example-org --json   docs/contracts.md section 2, secrets masked

Bad config prints the one error listing every problem and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from bootstrap.program import config_values, program
from core.pulumi_project import BOOTSTRAP_PROJECT
from stacks.loading import ConfigError
from stacks.offline import FAKE_SUBSCRIPTION_ID, OfflineRun, run_offline, stack_config_from_file
from stacks.plan import EXIT_BAD_CONFIG, plan_json
from stacks.plan_view import print_stack

ROOT = Path(__file__).resolve().parent.parent
STACK_FILE_PREFIX = "Pulumi."


def bootstrap_dir(root: Path = ROOT) -> Path:
    return root / "bootstrap"


def bootstrap_stacks(root: Path = ROOT) -> list[str]:
    """The bootstrap stacks that have a stack file, sorted."""
    files = bootstrap_dir(root).glob(f"{STACK_FILE_PREFIX}*.yaml")
    stacks = [p.name.removeprefix(STACK_FILE_PREFIX).removesuffix(".yaml") for p in files]
    return sorted(s for s in stacks if s)


def plan_bootstrap(stack: str, root: Path = ROOT, subscription_id: str | None = None) -> OfflineRun:
    """Run the bootstrap program for ``stack`` under mocks, with ``bootstrap/Pulumi.<stack>.yaml``."""
    path = bootstrap_dir(root) / f"{STACK_FILE_PREFIX}{stack}.yaml"
    config, secret_keys = stack_config_from_file(path, BOOTSTRAP_PROJECT)
    platform = config_values(config).get("platform")
    configured = platform.get("subscriptionId") if isinstance(platform, dict) else None
    # Logged in to the subscription the stack file names, as `make bootstrap` arranges.
    logged_in = subscription_id or (configured if isinstance(configured, str) else FAKE_SUBSCRIPTION_ID)
    return run_offline(
        program,
        project=BOOTSTRAP_PROJECT,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        subscription_id=logged_in,
    )


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m bootstrap.plan", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=bootstrap_stacks(root), help="plan one stack (default: all)")
    parser.add_argument("--json", action="store_true", help="print the plan JSON (needs --stack)")
    args = parser.parse_args(argv)
    if args.json and not args.stack:
        parser.error("--json needs --stack")
    console = Console()
    try:
        if args.json:
            run = plan_bootstrap(args.stack, root)
            sys.stdout.write(json.dumps(plan_json(run), indent=2, sort_keys=True) + "\n")
        else:
            for stack in [args.stack] if args.stack else bootstrap_stacks(root):
                print_stack(console, plan_bootstrap(stack, root), BOOTSTRAP_PROJECT)
    except ConfigError as error:
        Console(stderr=True).print(str(error), markup=False, highlight=False)
        return EXIT_BAD_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())
