"""GitHub environments as code, on the four stacks' plans: the rules each stack's environment keeps."""

from __future__ import annotations

from typing import Any

import pulumi_github as github
import pytest
from harness import ROTATED, VARIANT_REVIEWER, committed_settings

from core.environment import PRODUCTION_LIKE, Environment
from core.github_oidc import oidc_subject
from stacks.offline import (
    FAKE_GITHUB_TEAM_ID,
    FAKE_GITHUB_USER_ID,
    FAKE_TENANT_ID,
    OfflineRun,
    RecordedResource,
)
from stacks.settings import GithubSettings

# The type tokens the provider SDK registers its resources under.
ENVIRONMENT_TYPE = github.RepositoryEnvironment.pulumi_type
POLICY_TYPE = github.RepositoryEnvironmentDeploymentPolicy.pulumi_type
SECRET_TYPE = github.ActionsEnvironmentSecret.pulumi_type
VARIABLE_TYPE = github.ActionsEnvironmentVariable.pulumi_type
PROVIDER_TYPE = "pulumi:providers:github"
AZURE_SECRETS = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID")


def gh(environment: Environment) -> GithubSettings:
    return committed_settings(environment).github


def _one(run: OfflineRun, type_: str) -> Any:
    (resource,) = run.of_type(type_)
    return resource


def _secret(run: OfflineRun, name: str) -> RecordedResource:
    (resource,) = [r for r in run.of_type(SECRET_TYPE) if r.plain_inputs()["secretName"] == name]
    return resource


def _variable(run: OfflineRun, name: str) -> RecordedResource:
    (resource,) = [r for r in run.of_type(VARIABLE_TYPE) if r.inputs["variableName"] == name]
    return resource


@pytest.mark.parametrize("environment", list(Environment))
def test_each_stack_has_one_github_environment_named_after_the_stack(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    resource = _one(plans[environment], ENVIRONMENT_TYPE)
    assert resource.inputs["environment"] == environment.value
    assert resource.inputs["repository"] == gh(environment).repository
    assert plans[environment].exports["githubEnvironment"] == environment.value


@pytest.mark.parametrize("environment", list(Environment))
def test_only_the_branches_and_tags_the_stack_names_may_deploy(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """uat and prod always name them; a stack naming none lets any branch deploy."""
    settings = gh(environment)
    branches, tags = set(settings.deployment_branches), set(settings.deployment_tags)
    if environment in PRODUCTION_LIKE:
        assert branches | tags, "a guarded environment lets any branch deploy"
    run = plans[environment]
    policies = run.of_type(POLICY_TYPE)
    assert {p.inputs["branchPattern"] for p in policies if "branchPattern" in p.inputs} == branches
    assert {p.inputs["tagPattern"] for p in policies if "tagPattern" in p.inputs} == tags
    assert all(p.inputs["environment"] == environment.value for p in policies)
    branch_policy = _one(run, ENVIRONMENT_TYPE).inputs.get("deploymentBranchPolicy")
    if branches or tags:
        assert branch_policy == {"customBranchPolicies": True, "protectedBranches": False}
    else:
        assert branch_policy is None, "an environment without a rule lets any branch deploy"


def test_prod_waits_for_its_reviewers_and_nobody_approves_their_own_deployment(
    plans: dict[Environment, OfflineRun], prod_variant_plan: OfflineRun
) -> None:
    settings = gh(Environment.PROD)
    assert settings.require_reviewers
    assert not settings.admins_can_bypass
    prod = _one(plans[Environment.PROD], ENVIRONMENT_TYPE).inputs
    assert prod["preventSelfReview"] is True
    assert prod["canAdminsBypass"] is False
    # GitHub takes numeric ids only: the team's slug and, in the variant, a user's login arrive resolved.
    assert prod["reviewers"] == [{"teams": [int(FAKE_GITHUB_TEAM_ID)]}]
    variant = _one(prod_variant_plan, ENVIRONMENT_TYPE).inputs
    assert variant["reviewers"] == [
        {"users": [int(FAKE_GITHUB_USER_ID)], "teams": [int(FAKE_GITHUB_TEAM_ID)]}
    ]
    assert VARIANT_REVIEWER not in {r.name for r in settings.reviewers}  # the variant adds the user


@pytest.mark.parametrize("environment", list(Environment))
def test_reviewers_exist_only_where_the_stack_requires_them(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    inputs = _one(plans[environment], ENVIRONMENT_TYPE).inputs
    required = gh(environment).require_reviewers
    assert bool(inputs.get("reviewers")) is required
    assert inputs["preventSelfReview"] is required
    assert inputs["canAdminsBypass"] is gh(environment).admins_can_bypass


def test_wait_timer_is_passed_through_when_asked_for(
    plans: dict[Environment, OfflineRun], prod_variant_plan: OfflineRun
) -> None:
    assert _one(prod_variant_plan, ENVIRONMENT_TYPE).inputs["waitTimer"] == 15
    assert all("waitTimer" not in _one(run, ENVIRONMENT_TYPE).inputs for run in plans.values())


@pytest.mark.parametrize("environment", list(Environment))
@pytest.mark.parametrize("name", AZURE_SECRETS)
def test_azure_ids_reach_github_as_secrets(
    plans: dict[Environment, OfflineRun], environment: Environment, name: str
) -> None:
    secret = _secret(plans[environment], name)
    assert secret.is_secret("value")
    assert secret.inputs["environment"] == environment.value
    assert "plaintextValue" not in secret.inputs, "the deprecated input is not used"


def test_extra_secrets_reach_github_as_secrets(secret_plan: OfflineRun) -> None:
    """The secret overlay's `secure:` value (tests/stacks/fixtures/secret-overlay.yaml)."""
    assert not gh(Environment.DEV).extra_secrets  # the committed dev stack hands GitHub none
    secret = _secret(secret_plan, "PLATFORM_GITHUB_TOKEN")
    assert secret.is_secret("value")
    assert secret.inputs["environment"] == Environment.DEV.value
    assert "plaintextValue" not in secret.inputs


def test_azure_secrets_are_wired_from_the_deployer_and_the_login(
    plans: dict[Environment, OfflineRun],
) -> None:
    run = plans[Environment.DEV]
    (deployer,) = run.of_type("azure-native:managedidentity:UserAssignedIdentity")
    client = _secret(run, "AZURE_CLIENT_ID")
    assert deployer.urn in client.dependencies
    assert client.plain_inputs()["value"] == run.exports["deployerClientId"]
    assert _secret(run, "AZURE_TENANT_ID").plain_inputs()["value"] == FAKE_TENANT_ID
    subscription = committed_settings(Environment.DEV).platform.subscription_id
    assert _secret(run, "AZURE_SUBSCRIPTION_ID").plain_inputs()["value"] == subscription


@pytest.mark.parametrize("environment", list(Environment))
def test_non_secret_settings_are_variables_wired_from_outputs(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """DATABRICKS_HOST's wiring to the workspace: tests/stacks/test_wiring.py."""
    run = plans[environment]
    (group,) = run.of_type("azure-native:resources:ResourceGroup")
    assert _variable(run, "PULUMI_STACK").inputs["value"] == environment.value
    assert _variable(run, "DATABRICKS_HOST").inputs["value"] == run.exports["workspaceUrl"]
    resource_group = _variable(run, "AZURE_RESOURCE_GROUP")
    assert resource_group.inputs["value"] == run.exports["resourceGroupName"]
    assert group.urn in resource_group.dependencies
    assert {r.plain_inputs()["secretName"] for r in run.of_type(SECRET_TYPE)}.isdisjoint(
        r.inputs["variableName"] for r in run.of_type(VARIABLE_TYPE)
    )


def test_a_changed_secret_value_updates_the_same_resource_in_place(
    secret_plan: OfflineRun, switched_plan: OfflineRun
) -> None:
    """The value is a plain (non-replacing) input, and the logical names do not move: the switched
    dev stack hands GitHub the same secret with another value (docs/traps.md: variables-not-secrets)."""
    before, after = secret_plan, switched_plan
    assert {r.urn for r in before.of_type(SECRET_TYPE)} == {r.urn for r in after.of_type(SECRET_TYPE)}
    assert _secret(after, "PLATFORM_GITHUB_TOKEN").plain_inputs()["value"] == ROTATED
    assert _secret(before, "PLATFORM_GITHUB_TOKEN").plain_inputs()["value"] != ROTATED
    for resource in after.of_type(SECRET_TYPE) + after.of_type(VARIABLE_TYPE):
        assert resource.options["replaceOnChanges"] == []
        # If a provider upgrade ever turns a value change into a replacement, delete the old
        # secret first: creating the same name first and then deleting the old one loses it.
        assert resource.options["deleteBeforeReplace"] is True


def test_every_github_resource_goes_through_the_explicit_provider(
    plans: dict[Environment, OfflineRun],
) -> None:
    run = plans[Environment.PROD]
    provider = _one(run, PROVIDER_TYPE)
    assert provider.inputs["owner"] == gh(Environment.PROD).owner
    assert "token" not in provider.inputs, "the provider reads GITHUB_TOKEN itself"
    github_resources = [r for r in run.resources if r.type.startswith("github:")]
    assert github_resources
    assert all(r.provider.startswith(provider.urn + "::") for r in github_resources)


def test_children_are_parented_to_the_component(plans: dict[Environment, OfflineRun]) -> None:
    run = plans[Environment.DEV]
    (component,) = run.of_type("mlops:github:GitHubEnvironment")
    children = [r for r in run.resources if r.type.startswith(("github:", "pulumi:providers:github"))]
    assert children
    assert all(r.parent == component.urn for r in children)


@pytest.mark.parametrize("environment", list(Environment))
def test_the_environment_name_is_the_subject_the_deployer_trusts(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """A job of this GitHub environment logs in as this stack's deployer, and only as it."""
    run = plans[environment]
    name = _one(run, ENVIRONMENT_TYPE).inputs["environment"]
    settings = gh(environment)
    subject = oidc_subject(settings.owner, settings.repository, name)
    assert subject == f"repo:{settings.owner}/{settings.repository}:environment:{environment}"
    (credential,) = run.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert credential.plain_inputs()["subject"] == subject
