"""The Azure subscription a stack deploys into, as its stack file names it, for CI to log in to.

    python -m stacks.subscription dev      prints  subscription-id=<guid>

The workflows append that line to ``$GITHUB_OUTPUT`` and log in to exactly this subscription
(``azure/login`` and ``ARM_SUBSCRIPTION_ID``): each stack's subscription has one owner, its
``Pulumi.<stack>.yaml``, and the program refuses any other login (``stacks.wiring``). The whole
stack file is validated first, so a bad one fails here with every problem listed (exit code 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stacks.environment import Environment
from stacks.loading import PROJECT, ConfigError, build_settings, namespace_values
from stacks.offline import stack_config_from_file

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_NAME = "subscription-id"
EXIT_BAD_CONFIG = 2


def stack_subscription(stack: str, root: Path = ROOT) -> str:
    """``platform.subscriptionId`` of ``stack``, after validating its whole stack file."""
    config, secret_keys = stack_config_from_file(root / f"Pulumi.{stack}.yaml", PROJECT)
    values, secrets = namespace_values(config, secret_keys)
    return build_settings(stack, values, secrets).platform.subscription_id


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.subscription", description=__doc__.splitlines()[0])
    parser.add_argument("stack", choices=[e.value for e in Environment])
    args = parser.parse_args(argv)
    try:
        subscription = stack_subscription(args.stack, root)
    except ConfigError as error:
        sys.stderr.write(f"{error}\n")
        return EXIT_BAD_CONFIG
    sys.stdout.write(f"{OUTPUT_NAME}={subscription}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
