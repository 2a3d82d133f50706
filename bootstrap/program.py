"""The bootstrap program: what ``bootstrap/__main__.py`` runs, and ``python -m bootstrap.plan`` offline.

It creates, once per organisation or subscription, everything the environment stacks and CI
need before the first ``pulumi up`` of an environment: the state backend and its keys, the
PR-preview identity, the deployers' access to the backend, and the repository's settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import config as pulumi_config
from pulumi_azure_native import authorization

from bootstrap.settings import (
    NAMESPACE,
    PREVIEW_TOKEN_KEY,
    STACK_DIRECTORY,
    BootstrapSettings,
    build_bootstrap_settings,
)
from core.environment import Environment
from core.pulumi_project import BOOTSTRAP_PROJECT
from infra.base import StrInput
from infra.bootstrap_access import BackendAccess, BackendAccessArgs, PreviewIdentity, PreviewIdentityArgs
from infra.bootstrap_naming import bootstrap_names, secrets_key_name
from infra.repository_settings import RepositorySettings, RepositorySettingsArgs, TagPusher
from infra.resource_group import ResourceGroup, ResourceGroupArgs
from infra.state_backend import StateBackend, StateBackendArgs
from infra.tags import common_tags
from stacks.loading import ConfigError, Problem

# The checks a pull request must pass: the job names of .github/workflows/pr.yml (a test keeps
# them equal), one preview per environment.
# The ML projects' own jobs are named per project: "ML projects" stands for them all (pr.yml).
PR_CHECKS: tuple[str, ...] = (
    "lint, tests, wheel",
    "list the ML projects",
    "ML projects",
    *(f"preview {env}" for env in Environment),
)
BOOTSTRAP_TAG = "bootstrap"  # the `environment` tag of shared resources that belong to no environment


@dataclass(frozen=True)
class LoadedBootstrap:
    settings: BootstrapSettings
    preview_github_token: pulumi.Output[str] | None


@dataclass(frozen=True)
class Bootstrap:
    backend: StateBackend
    preview: PreviewIdentity
    repository: RepositorySettings
    tenant_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]


def load_bootstrap() -> LoadedBootstrap:
    """Read this stack's ``mlops-bootstrap:`` config from the engine and validate it."""
    stack = pulumi.get_stack()
    raw = {**pulumi_config.get_config_env(), **pulumi_config.CONFIG.get()}
    token_key = NAMESPACE + PREVIEW_TOKEN_KEY
    values = {
        key.removeprefix(NAMESPACE): _decode(value)
        for key, value in raw.items()
        if key.startswith(NAMESPACE) and key != token_key
    }
    if token_key in raw and not pulumi_config.is_config_secret(token_key):
        message = f"plaintext; set it with `pulumi config set --secret {PREVIEW_TOKEN_KEY}`"
        problem = Problem(stack, PREVIEW_TOKEN_KEY, "(plaintext)", message, NAMESPACE)
        raise ConfigError(stack, [problem], STACK_DIRECTORY)
    settings = build_bootstrap_settings(stack, values)
    token = pulumi.Config(BOOTSTRAP_PROJECT).get_secret(PREVIEW_TOKEN_KEY)
    return LoadedBootstrap(settings, token)


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


def build_bootstrap(loaded: LoadedBootstrap) -> Bootstrap:
    """Compose the bootstrap; bad config or the wrong Azure login fail before the first registration."""
    settings = loaded.settings
    platform, gh = settings.platform, settings.github
    subscription_id = checked_subscription(settings)
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
    backend = StateBackend(
        "state",
        StateBackendArgs(
            resource_group_name=group.group_name,
            location=platform.location,
            tags=tags,
            account_name=names.state_storage_account,
            container_name=names.state_container,
            storage_sku=settings.state.storage_sku,
            soft_delete_days=settings.state.soft_delete_days,
            vault_name=names.secrets_vault,
            tenant_id=client.tenant_id,
            vault_soft_delete_days=settings.state.vault_soft_delete_days,
            key_names={env.value: secrets_key_name(env) for env in settings.environments},
            protect=protect,
        ),
    )
    preview = PreviewIdentity(
        "preview",
        PreviewIdentityArgs(
            resource_group_name=group.group_name,
            location=platform.location,
            tags=tags,
            identity_name=names.preview_identity,
            github_owner=gh.owner,
            github_repository=gh.repository,
        ),
    )
    BackendAccess(
        "backend-access",
        BackendAccessArgs(
            subscription_id=subscription_id,
            container_id=backend.container_id,
            key_ids=backend.key_ids,
            preview_principal_id=preview.principal_id,
            deployer_principal_ids={env.value: pid for env, pid in settings.deployers.items()},
            operator_principal_ids=settings.operators,
        ),
    )
    # What the workflows read outside any environment (pr.yml, pulumi-up.yml). Not the subscription:
    # each job logs in to the one its stack file names (platform.subscriptionId, docs/ci.md).
    secrets: dict[str, StrInput] = {
        "AZURE_PREVIEW_CLIENT_ID": preview.client_id,
        "AZURE_TENANT_ID": client.tenant_id,
    }
    if loaded.preview_github_token is not None:
        secrets["PLATFORM_GITHUB_READ_TOKEN"] = loaded.preview_github_token
    repository = RepositorySettings(
        "repository",
        RepositorySettingsArgs(
            owner=gh.owner,
            repository=gh.repository,
            variables={"PULUMI_BACKEND_URL": backend.backend_url},
            secrets=secrets,
            required_checks=PR_CHECKS,
            required_approvals=gh.required_approvals,
            tag_pushers=tuple(TagPusher(kind=p.type.value, name=p.name) for p in gh.tag_pushers),
        ),
    )
    return Bootstrap(
        backend, preview, repository, client.tenant_id, pulumi.Output.from_input(subscription_id)
    )


def bootstrap_outputs(bootstrap: Bootstrap) -> dict[str, pulumi.Input[Any]]:
    """Every stack output; ``infra.bootstrap_interface.BootstrapOutputs`` names the ones environments read."""
    backend = bootstrap.backend
    return {
        "backendUrl": backend.backend_url,
        "stateStorageAccount": backend.storage_account_name,
        "stateContainer": backend.container_name,
        "secretsVaultId": backend.vault_id,
        "secretsProviders": dict(backend.secrets_providers),
        "previewClientId": bootstrap.preview.client_id,
        "previewPrincipalId": bootstrap.preview.principal_id,
        "tenantId": bootstrap.tenant_id,
        "subscriptionId": bootstrap.subscription_id,
        "repositoryVariables": bootstrap.repository.variable_names,
        "repositorySecrets": bootstrap.repository.secret_names,
    }


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
