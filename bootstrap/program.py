"""The bootstrap program: what ``bootstrap/__main__.py`` runs, and ``python -m bootstrap.plan`` offline.

It creates, once per organisation or subscription, everything the environment stacks and CI
need before the first ``pulumi up`` of an environment: the state backend (a container and a key
per environment), the two preview identities, each environment's deployer with its roles on the
environment's subscription (bootstrap/deployers.py) and its access to the backend, and the
repository's settings and GitHub environments (bootstrap/repository.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config
from pulumi_azure_native import authorization

from bootstrap.account import build_account
from bootstrap.deployers import build_deployers
from bootstrap.environment_platforms import environment_platforms, shared_subscription_problems
from bootstrap.repository import Logins, build_repository, environment_logins
from bootstrap.settings import NAMESPACE, STACK_DIRECTORY, BootstrapSettings, build_bootstrap_settings
from core.backend import secrets_key_name, state_container_name
from core.deployments import PROD_PREVIEW, PULL_REQUEST_PREVIEWS, RELEASE_PREVIEW_WORKFLOW, RELEASE_PREVIEWS
from core.environment import Environment
from core.github_oidc import oidc_subject, pull_request_subject
from infra.bootstrap_access import (
    DEPLOYER_ROLES,
    OPERATOR_ROLES,
    PREVIEW_CREDENTIAL_NAME,
    PREVIEW_ROLES,
    RELEASE_PREVIEW_CREDENTIAL_NAME,
    BackendAccess,
    BackendAccessArgs,
    BackendReach,
    PreviewIdentity,
    PreviewIdentityArgs,
)
from infra.bootstrap_deployer import EnvironmentDeployer
from infra.bootstrap_naming import bootstrap_names
from infra.repository_settings import RepositorySettings
from infra.resource_group import ResourceGroup, ResourceGroupArgs
from infra.state_backend import StateBackend, StateBackendArgs
from infra.tags import common_tags
from stacks.loading import ConfigError, Problem
from stacks.settings import PlatformSettings

BOOTSTRAP_TAG = "bootstrap"  # the `environment` tag of shared resources that belong to no environment


@dataclass(frozen=True)
class LoadedBootstrap:
    settings: BootstrapSettings
    platforms: Mapping[Environment, PlatformSettings]  # each environment's, from its own stack file


@dataclass(frozen=True)
class Bootstrap:
    settings: BootstrapSettings
    backend: StateBackend
    previews: Mapping[str, PreviewIdentity]  # environment -> the identity that previews it
    repository: RepositorySettings
    deployers: Mapping[Environment, EnvironmentDeployer]  # one per settings.environments, in order
    tenant_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    account: Mapping[str, Any] | None = None  # the accountObjects output (bootstrap/account.py)


def load_bootstrap() -> LoadedBootstrap:
    """Read this stack's ``mlops-bootstrap:`` config from the engine and validate it."""
    raw = {**pulumi_config.get_config_env(), **pulumi_config.CONFIG.get()}
    settings = build_bootstrap_settings(pulumi.get_stack(), config_values(raw))
    return LoadedBootstrap(settings, environment_platforms(settings.environments))


def checked_subscription(settings: BootstrapSettings) -> str:
    """The configured subscription, once the Azure login is known to be to it (as stacks.wiring does)."""
    configured = settings.platform.subscription_id
    logged_in = str(authorization.get_client_config().subscription_id)
    if logged_in.lower() != configured.lower():
        message = (
            f"the Azure login is to subscription {logged_in}, not this stack's; log in to it "
            f"(`az account set --subscription {configured}`) "
            f"or correct {STACK_DIRECTORY}Pulumi.{settings.stack}.yaml"
        )
        raise ConfigError(
            settings.stack,
            [Problem(settings.stack, "platform.subscriptionId", configured, message, NAMESPACE)],
            STACK_DIRECTORY,
        )
    return configured


def backend_reach(
    settings: BootstrapSettings,
    pull_request: PreviewIdentity,
    release: PreviewIdentity,
    deployers: Mapping[Environment, EnvironmentDeployer],
) -> dict[str, BackendReach]:
    """Who reaches which environment's state and key (docs/security.md, trust model)."""
    keyed = {env.value for env in settings.environments}
    reach = {
        "preview": BackendReach(
            pull_request.principal_id,
            tuple(e.value for e in PULL_REQUEST_PREVIEWS if e in keyed),
            PREVIEW_ROLES,
        ),
        "release-preview": BackendReach(
            release.principal_id, tuple(e.value for e in RELEASE_PREVIEWS if e in keyed), PREVIEW_ROLES
        ),
    }
    for env, deployer in deployers.items():
        reach[f"deployer-{env.value}"] = BackendReach(deployer.principal_id, (env.value,), DEPLOYER_ROLES)
    for operator in settings.operators:
        reach[f"operator-{operator}"] = BackendReach(
            operator, tuple(sorted(keyed)), OPERATOR_ROLES, is_person=True
        )
    return reach


def build_bootstrap(loaded: LoadedBootstrap) -> Bootstrap:
    """Compose the bootstrap; bad config or the wrong Azure login fail before the first registration."""
    settings = loaded.settings
    platform, gh = settings.platform, settings.github
    subscription_id = checked_subscription(settings)
    shared = shared_subscription_problems(settings.stack, subscription_id, loaded.platforms)
    if shared:
        raise ConfigError(settings.stack, shared, STACK_DIRECTORY)
    names = bootstrap_names(
        platform.name_prefix,
        gh.owner,
        gh.repository,
        platform.name_suffix_rotation,
        subscription_id=platform.subscription_id,
    )
    tags = common_tags(environment=BOOTSTRAP_TAG, owner=platform.owner, cost_center=platform.cost_center)
    protect = settings.state.protect
    client = authorization.get_client_config_output()
    group = ResourceGroup(
        "bootstrap-group",
        ResourceGroupArgs(
            name=names.resource_group,
            location=platform.location,
            tags=tags,
            protect=protect,
            retain_on_delete=protect,
            delete_lock=False,
        ),
    )
    environments = [env.value for env in settings.environments]
    backend = StateBackend(
        "state",
        StateBackendArgs(
            resource_group_name=group.group_name,
            location=platform.location,
            tags=tags,
            account_name=names.state_storage_account,
            container_names={env: state_container_name(env) for env in environments},
            storage_sku=settings.state.storage_sku,
            soft_delete_days=settings.state.soft_delete_days,
            vault_name=names.secrets_vault,
            tenant_id=client.tenant_id,
            vault_soft_delete_days=settings.state.vault_soft_delete_days,
            key_names={env: secrets_key_name(env) for env in environments},
            protect=protect,
        ),
    )

    def preview_identity(
        name: str, identity_name: str, credential_name: str, subject: str
    ) -> PreviewIdentity:
        args = PreviewIdentityArgs(
            resource_group_name=group.group_name,
            location=platform.location,
            tags=tags,
            identity_name=identity_name,
            credential_name=credential_name,
            subject=subject,
        )
        return PreviewIdentity(name, args)

    # A pull request's own code runs with this one's token: it reaches sandbox and dev only.
    pull_request = preview_identity(
        "preview",
        names.preview_identity,
        PREVIEW_CREDENTIAL_NAME,
        pull_request_subject(gh.owner, gh.repository),
    )
    # Commits on main and v* tags, in the prod-preview environment, before the prod reviewers approve.
    release = preview_identity(
        "release-preview",
        names.release_preview_identity,
        RELEASE_PREVIEW_CREDENTIAL_NAME,
        oidc_subject(gh.owner, gh.repository, PROD_PREVIEW, RELEASE_PREVIEW_WORKFLOW),
    )
    previews = {env.value: pull_request for env in PULL_REQUEST_PREVIEWS} | {
        env.value: release for env in RELEASE_PREVIEWS
    }
    deployers = build_deployers(
        settings,
        loaded.platforms,
        group.group_name,
        {env: preview.principal_id for env, preview in previews.items()},
    )
    BackendAccess(
        "backend-access",
        BackendAccessArgs(
            subscription_id=subscription_id,
            container_ids=backend.container_ids,
            key_ids=backend.key_ids,
            reach=backend_reach(settings, pull_request, release, deployers),
        ),
    )
    repository = build_repository(
        settings,
        Logins(
            tenant_id=client.tenant_id,
            pull_request_client_id=pull_request.client_id,
            environment_client_ids=environment_logins(
                {env: deployer.client_id for env, deployer in deployers.items()}, release.client_id
            ),
        ),
    )
    account = build_account(settings, deployers)
    return Bootstrap(
        settings,
        backend,
        previews,
        repository,
        deployers,
        client.tenant_id,
        pulumi.Output.from_input(subscription_id),
        account,
    )


def bootstrap_outputs(bootstrap: Bootstrap) -> dict[str, pulumi.Input[Any]]:
    """Every stack output; ``environments`` holds, per environment, what
    ``infra.bootstrap_interface.BootstrapOutputs`` declares its stack reads."""
    backend, gh = bootstrap.backend, bootstrap.settings.github
    return {
        "environments": {
            env: {
                "previewPrincipalId": bootstrap.previews[env].principal_id,
                "previewClientId": bootstrap.previews[env].client_id,
                "deployerPrincipalId": bootstrap.deployers[Environment(env)].principal_id,
                "deployerClientId": bootstrap.deployers[Environment(env)].client_id,
                "backendUrl": url,
            }
            for env, url in sorted(backend.backend_urls.items())
        },
        "stateStorageAccount": backend.storage_account_name,
        "secretsVaultId": backend.vault_id,
        "secretsProviders": dict(backend.secrets_providers),
        "tenantId": bootstrap.tenant_id,
        "subscriptionId": bootstrap.subscription_id,
        "githubRepository": f"{gh.owner}/{gh.repository}",
        "codeOwners": f"@{gh.owner}/{gh.code_owners}",
        "repositorySecrets": bootstrap.repository.secret_names,
    } | ({"accountObjects": bootstrap.account} if bootstrap.account is not None else {})


def program() -> None:
    for key, value in bootstrap_outputs(build_bootstrap(load_bootstrap())).items():
        pulumi.export(key, value)


def _decode(value: Any) -> Any:
    """The engine passes structured values as JSON text and scalars as their text."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def config_values(config: Mapping[str, str]) -> dict[str, Any]:
    """This project's keys of a CLI-shaped config mapping, namespace stripped and JSON decoded."""
    return {k.removeprefix(NAMESPACE): _decode(v) for k, v in config.items() if k.startswith(NAMESPACE)}
