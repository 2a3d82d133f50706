"""Each environment's deployer, composed for the bootstrap (infra/bootstrap_deployer.py).

An environment named under ``deployers`` was deployed before the bootstrap owned its deployer: its
identity is adopted where it is (``import_id``: its ARM id, the environment stack's output
``deployerIdentityId``), with the region and tags its environment stack gave it. Any other
environment gets a new deployer in the bootstrap's resource group. Either way the deployer's
roles go on the environment's own subscription, through one azure-native provider per
environment subscription (pulumi-azure-native ``Provider(subscription_id=...)``: "The
Subscription ID which should be used", ``pulumi_azure_native/provider.py``); the login is the
operator's, as for the default provider.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_azure_native as azure_native

from bootstrap.settings import NAMESPACE, STACK_DIRECTORY, BootstrapSettings
from core.environment import Environment
from infra.base import StrInput
from infra.bootstrap_deployer import EnvironmentDeployer, EnvironmentDeployerArgs
from infra.bootstrap_naming import deployer_identity_name
from infra.tags import common_tags
from stacks.loading import ConfigError, Problem
from stacks.settings import PlatformSettings


def adoption_problems(
    settings: BootstrapSettings, platforms: Mapping[Environment, PlatformSettings]
) -> list[Problem]:
    """An adopted deployer must live in its environment's subscription (its stack file says which)."""
    problems = []
    for env, ids in settings.deployers.items():
        expected = platforms[env].subscription_id
        if ids.subscription_id.lower() != expected.lower():
            problems.append(
                Problem(
                    settings.stack,
                    f"deployers.{env}.identityId",
                    ids.identity_id,
                    f"is in subscription {ids.subscription_id}, but Pulumi.{env}.yaml "
                    f"platform.subscriptionId is {expected}: copy `pulumi stack output deployerIdentityId "
                    f"-s {env}` of that environment",
                    NAMESPACE,
                )
            )
    return problems


def build_deployers(
    settings: BootstrapSettings,
    platforms: Mapping[Environment, PlatformSettings],
    bootstrap_group_name: StrInput,
    previews: Mapping[str, StrInput],
) -> dict[Environment, EnvironmentDeployer]:
    """Environment -> its deployer, in ``settings.environments`` order; ``previews``: environment ->
    the principal id of the identity that previews it (the one principal its Reader may go to)."""
    problems = adoption_problems(settings, platforms)
    if problems:
        raise ConfigError(settings.stack, problems, STACK_DIRECTORY)
    gh, prefix = settings.github, settings.platform.name_prefix
    deployers = {}
    for env in settings.environments:
        platform, adopted = platforms[env], settings.deployers.get(env)
        provider = azure_native.Provider(f"subscription-{env}", subscription_id=platform.subscription_id)
        # The environment's own tags (an adopted identity keeps those its stack gave it).
        tags = common_tags(environment=env.value, owner=platform.owner, cost_center=platform.cost_center)
        args = EnvironmentDeployerArgs(
            environment=env,
            subscription_id=platform.subscription_id,
            identity_name=adopted.identity_name if adopted else deployer_identity_name(prefix, env.value),
            resource_group_name=adopted.resource_group_name if adopted else bootstrap_group_name,
            location=platform.location if adopted else settings.platform.location,
            tags=tags,
            github_owner=gh.owner,
            github_repository=gh.repository,
            preview_principal_id=previews[env.value],
            import_id=adopted.identity_id if adopted else None,
        )
        deployers[env] = EnvironmentDeployer(f"deployer-{env}", args, provider, pulumi.ResourceOptions())
    return deployers
