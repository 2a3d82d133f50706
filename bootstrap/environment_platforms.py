"""Each environment's ``platform`` section, read from its own ``Pulumi.<env>.yaml`` (the one owner).

The bootstrap creates each environment's deployer and gives it the deployer role on the
environment's subscription (infra/bootstrap_deployer.py), so it needs the environments'
subscriptions; an imported deployer also keeps its environment's region and tags. They are read
from the stack files with the environment stacks' own model (``stacks.settings.PlatformSettings``),
never copied into the bootstrap's config.

One deployer per subscription: a deployer holds its role on the whole subscription, so two
environments sharing one would each reach the other's resources, and an environment sharing the
bootstrap's would reach the state backend and every environment's key. Such settings are refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import ValidationError

from bootstrap.settings import NAMESPACE as BOOTSTRAP_NAMESPACE
from core.environment import Environment
from stacks.loading import NAMESPACE as PLATFORM_NAMESPACE
from stacks.loading import ConfigError, Problem, problem_from
from stacks.settings import PlatformSettings
from stacks.stack_file import read_stack_file

ROOT = Path(__file__).resolve().parent.parent
SUBSCRIPTION_KEY = "platform.subscriptionId"


def environment_platforms(
    environments: Iterable[Environment], root: Path = ROOT
) -> dict[Environment, PlatformSettings]:
    """Environment -> its validated ``platform`` section; ConfigError naming the file and key."""
    platforms: dict[Environment, PlatformSettings] = {}
    for env in environments:
        path = root / f"Pulumi.{env}.yaml"
        if not path.is_file():
            message = (
                f"{path.name} does not exist: every environment in the bootstrap's environments needs one"
            )
            raise ConfigError(env, [Problem(env, SUBSCRIPTION_KEY, None, message, PLATFORM_NAMESPACE)])
        section = (read_stack_file(path).get("config") or {}).get(f"{PLATFORM_NAMESPACE}platform")
        try:
            platforms[env] = PlatformSettings.model_validate(section if isinstance(section, dict) else {})
        except ValidationError as error:
            problems = [problem_from(env, d, PlatformSettings) for d in error.errors()]
            raise ConfigError(
                env,
                [Problem(env, f"platform.{p.key}", p.value, p.message, PLATFORM_NAMESPACE) for p in problems],
            ) from None
    return platforms


def shared_subscription_problems(
    stack: str, bootstrap_subscription: str, platforms: Mapping[Environment, PlatformSettings]
) -> list[Problem]:
    """A problem per subscription that two environments, or an environment and the bootstrap, share."""
    owners: dict[str, list[str]] = {bootstrap_subscription.lower(): [f"the bootstrap ({stack})"]}
    for env, platform in platforms.items():
        owners.setdefault(platform.subscription_id.lower(), []).append(env.value)
    problems = []
    for subscription, sharing in owners.items():
        if len(sharing) < 2:
            continue
        files = ", ".join(
            f"Pulumi.{who}.yaml {SUBSCRIPTION_KEY}"
            if who in set(Environment)
            else f"bootstrap/Pulumi.{stack}.yaml"
            for who in sharing
        )
        problems.append(
            Problem(
                stack,
                "environments",
                subscription,
                f"{' and '.join(sharing)} share this subscription ({files}): each environment's deployer "
                "holds its role on its whole subscription, so it would reach the other's resources"
                f"{' and the state backend' if sharing[0].startswith('the bootstrap') else ''}; "
                "give each environment, and the bootstrap, a subscription of its own",
                BOOTSTRAP_NAMESPACE,
            )
        )
    return problems
