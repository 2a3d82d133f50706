"""The Azure subscription a stack deploys into, as its stack file names it, for CI to log in to.

    python -m stacks.subscription dev      prints  subscription-id=<guid>

The workflows append that line to ``$GITHUB_OUTPUT`` and log in to exactly this subscription
(``azure/login`` and ``ARM_SUBSCRIPTION_ID``): each stack's subscription has one owner, its
``Pulumi.<stack>.yaml`` (``platform.subscriptionId``), and the program refuses any other login
(``stacks.wiring.checked_subscription``). It reads only that key, with the settings model's own
type, so it starts in a fraction of a second; the program validates the rest. A missing or
malformed value exits with code 2 and one line naming the file, the key and what is allowed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from core.environment import Environment
from stacks.types import SubscriptionId

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_NAME = "subscription-id"
EXIT_BAD_CONFIG = 2
KEY = "platform.subscriptionId"


class SubscriptionError(Exception):
    """The stack file names no usable subscription."""


def stack_subscription(stack: str, root: Path = ROOT) -> str:
    """``platform.subscriptionId`` of ``stack``, checked as the settings model checks it."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    stack_file = root / f"Pulumi.{stack}.yaml"
    config = (yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}).get("config") or {}
    section = config.get(f"{project}:platform")
    value = section.get("subscriptionId") if isinstance(section, dict) else None
    try:
        return TypeAdapter(SubscriptionId).validate_python(value)
    except ValidationError as error:
        shown = "(missing)" if value is None else json.dumps(value)
        message = error.errors()[0]["msg"]
        raise SubscriptionError(
            f"{stack_file.name}: {project}:{KEY} = {shown}: {message}; "
            "allowed: the GUID of the subscription this stack deploys into"
        ) from None


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.subscription", description=__doc__.splitlines()[0]
    )
    parser.add_argument("stack", choices=[e.value for e in Environment])
    args = parser.parse_args(argv)
    try:
        subscription = stack_subscription(args.stack, root)
    except SubscriptionError as error:
        sys.stderr.write(f"{error}\n")
        return EXIT_BAD_CONFIG
    sys.stdout.write(f"{OUTPUT_NAME}={subscription}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
