"""What a CI job logs in to for a stack, as its stack file names it: the Azure subscription and the
state backend.

    python -m stacks.subscription dev      prints  subscription-id=<guid>
                                                   backend-url=azblob://pulumi-state-dev?storage_account=...

The workflows append those lines to ``$GITHUB_OUTPUT`` and log in to exactly this subscription
(``azure/login`` and ``ARM_SUBSCRIPTION_ID``) and this backend (``pulumi login``): each has one
owner, the stack's ``Pulumi.<stack>.yaml`` (``platform.subscriptionId``; ``bootstrap.backendUrl``,
the environment's own state container, written by ``make bootstrap``), and the program refuses any
other subscription (``stacks.wiring.checked_subscription``). It reads only those keys, with the
settings model's own types, so it starts in a fraction of a second; the program validates the rest.
A missing or malformed value exits with code 2 and one line naming the file, the key and what is
allowed. ``--environment`` also refuses a GitHub environment that is not the stack's own or its
preview's: main's workflow would otherwise log in as one environment's identity to another's stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from core.deployments import PROD_PREVIEW, deploy_environment
from core.environment import Environment
from infra.bootstrap_interface import BootstrapOutputs
from stacks.types import SubscriptionId

ROOT = Path(__file__).resolve().parent.parent
EXIT_BAD_CONFIG = 2
# output name -> (config section, key, the settings model's type, what is allowed)
LOGIN_KEYS: dict[str, tuple[str, str, Any, str]] = {
    "subscription-id": (
        "platform",
        "subscriptionId",
        SubscriptionId,
        "the GUID of the subscription this stack deploys into",
    ),
    "backend-url": (
        "bootstrap",
        "backendUrl",
        BootstrapOutputs.model_fields["backend_url"].annotation,
        "azblob://<container>?storage_account=<account>, written by `make bootstrap`",
    ),
}


class SubscriptionError(Exception):
    """The stack file names no usable subscription or backend, or the job is in the wrong environment."""


def login_facts(stack: str, root: Path = ROOT) -> dict[str, str]:
    """Output name -> value of ``LOGIN_KEYS`` for ``stack``, checked as the settings model checks them."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    stack_file = root / f"Pulumi.{stack}.yaml"
    config = (yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}).get("config") or {}
    facts = {}
    for output, (section_name, key, type_, allowed) in LOGIN_KEYS.items():
        section = config.get(f"{project}:{section_name}")
        value = section.get(key) if isinstance(section, dict) else None
        try:
            facts[output] = str(TypeAdapter(type_).validate_python(value))
        except ValidationError as error:
            shown = "(missing)" if value is None else json.dumps(value)
            message = error.errors()[0]["msg"]
            raise SubscriptionError(
                f"{stack_file.name}: {project}:{section_name}.{key} = {shown}: {message}; allowed: {allowed}"
            ) from None
    return facts


def stack_subscription(stack: str, root: Path = ROOT) -> str:
    """``platform.subscriptionId`` of ``stack``."""
    return login_facts(stack, root)["subscription-id"]


def check_environment(stack: str, environment: str) -> None:
    """A job of ``stack`` runs in its own GitHub environment, or (prod) in its preview's."""
    allowed = [deploy_environment(Environment(stack))] + ([PROD_PREVIEW] if stack == Environment.PROD else [])
    if environment not in allowed:
        raise SubscriptionError(
            f"stack {stack} runs in GitHub environment {environment!r}: allowed: {', '.join(allowed)} "
            "(another environment's identity must never touch this stack)"
        )


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.subscription", description=__doc__.splitlines()[0]
    )
    parser.add_argument("stack", choices=[e.value for e in Environment])
    parser.add_argument(
        "--environment", help="the GitHub environment the job runs in (refused if not the stack's)"
    )
    args = parser.parse_args(argv)
    try:
        if args.environment is not None:
            check_environment(args.stack, args.environment)
        facts = login_facts(args.stack, root)
    except SubscriptionError as error:
        sys.stderr.write(f"{error}\n")
        return EXIT_BAD_CONFIG
    sys.stdout.write("".join(f"{name}={value}\n" for name, value in facts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
