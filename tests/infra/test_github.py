"""GitHub environments as code, under Pulumi mocks: the rules each stack's environment must keep."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_github as github
import pytest

from core.environment import Environment
from core.github_oidc import oidc_subject
from infra.github import GitHubEnvironment, GitHubEnvironmentArgs
from stacks.offline import (
    FAKE_CLIENT_ID,
    FAKE_GITHUB_TEAM_ID,
    FAKE_GITHUB_USER_ID,
    FAKE_SUBSCRIPTION_ID,
    FAKE_TENANT_ID,
    OfflineRun,
    run_offline,
)
from stacks.plan import stack_settings
from stacks.wiring import github_protection

OWNER = "acme-ml"
REPOSITORY = "mlops-platform"
# One reviewer by login (looked up by invoke) and one by numeric id; the team by slug.
PROD_REVIEWER_USERS = ("octocat", 1234567)
PROD_REVIEWER_TEAMS = ("platform-approvers",)
WORKSPACE_HOST = "https://adb-1234567890123456.7.azuredatabricks.net"

# The type tokens the provider SDK registers its resources under.
ENVIRONMENT_TYPE = github.RepositoryEnvironment.pulumi_type
POLICY_TYPE = github.RepositoryEnvironmentDeploymentPolicy.pulumi_type
SECRET_TYPE = github.ActionsEnvironmentSecret.pulumi_type
VARIABLE_TYPE = github.ActionsEnvironmentVariable.pulumi_type
PROVIDER_TYPE = "pulumi:providers:github"


class FakeIdentity(pulumi.CustomResource):
    """Stands in for the deployer identity: its ids are outputs, as the real component's are."""

    clientId: pulumi.Output[str]  # noqa: N815 - the provider's property name
    tenantId: pulumi.Output[str]  # noqa: N815
    subscriptionId: pulumi.Output[str]  # noqa: N815

    def __init__(self, name: str) -> None:
        props = {
            "clientId": FAKE_CLIENT_ID,
            "tenantId": FAKE_TENANT_ID,
            "subscriptionId": FAKE_SUBSCRIPTION_ID,
        }
        super().__init__("test:index:Identity", name, props)


class FakeWorkspace(pulumi.CustomResource):
    """Stands in for the Databricks workspace and its resource group."""

    host: pulumi.Output[str]
    resourceGroup: pulumi.Output[str]  # noqa: N815

    def __init__(self, name: str, environment: Environment) -> None:
        props = {"host": WORKSPACE_HOST, "resourceGroup": f"rg-mlops-{environment}"}
        super().__init__("test:index:Workspace", name, props)


def _args(environment: Environment, **overrides: Any) -> dict[str, Any]:
    prod = environment is Environment.PROD
    literal: dict[str, Any] = {
        "environment": environment,
        # The protection the stack's settings give (stacks/wiring.py maps them the same way).
        "protection": github_protection(stack_settings(environment).github),
        "owner": OWNER,
        "repository": REPOSITORY,
        "reviewer_users": PROD_REVIEWER_USERS if prod else (),
        "reviewer_teams": PROD_REVIEWER_TEAMS if prod else (),
        "azure_client_id": FAKE_CLIENT_ID,
        "azure_tenant_id": FAKE_TENANT_ID,
        "azure_subscription_id": FAKE_SUBSCRIPTION_ID,
        "azure_resource_group": f"rg-mlops-{environment}",
        "databricks_host": WORKSPACE_HOST,
    }
    return {**literal, **overrides}


def _plan(environment: Environment, config_value: str = "offline-value", **overrides: Any) -> OfflineRun:
    def program() -> None:
        identity = FakeIdentity("deployer")
        workspace = FakeWorkspace("workspace", environment)
        wired = {
            "azure_client_id": identity.clientId,
            "azure_tenant_id": identity.tenantId,
            "azure_subscription_id": identity.subscriptionId,
            "azure_resource_group": workspace.resourceGroup,
            "databricks_host": workspace.host,
            "extra_secrets": {"PULUMI_CONFIG_PASSPHRASE": pulumi.Output.secret(config_value)},
        }
        GitHubEnvironment(
            f"github-{environment}", GitHubEnvironmentArgs(**_args(environment, **wired, **overrides))
        )

    return run_offline(program, project="mlops-platform", stack=environment.value, config={})


@pytest.fixture(scope="module")
def plans() -> dict[Environment, OfflineRun]:
    return {environment: _plan(environment) for environment in Environment}


def _one(run: OfflineRun, type_: str) -> Any:
    (resource,) = run.of_type(type_)
    return resource


def _secret(run: OfflineRun, name: str) -> Any:
    (resource,) = [r for r in run.of_type(SECRET_TYPE) if r.plain_inputs()["secretName"] == name]
    return resource


def _variable(run: OfflineRun, name: str) -> Any:
    (resource,) = [r for r in run.of_type(VARIABLE_TYPE) if r.inputs["variableName"] == name]
    return resource


@pytest.mark.parametrize("environment", list(Environment))
def test_each_stack_has_one_github_environment_named_after_the_stack(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    resource = _one(plans[environment], ENVIRONMENT_TYPE)
    assert resource.inputs["environment"] == environment.value
    assert resource.inputs["repository"] == REPOSITORY


@pytest.mark.parametrize(
    ("environment", "branches", "tags"),
    [
        (Environment.SANDBOX, set(), set()),
        (Environment.DEV, {"main"}, set()),
        (Environment.UAT, {"release/*"}, set()),
        (Environment.PROD, {"main"}, {"v*"}),
    ],
)
def test_only_the_branches_and_tags_of_the_policy_table_may_deploy(
    plans: dict[Environment, OfflineRun], environment: Environment, branches: set[str], tags: set[str]
) -> None:
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
    plans: dict[Environment, OfflineRun],
) -> None:
    prod = _one(plans[Environment.PROD], ENVIRONMENT_TYPE).inputs
    # GitHub takes numeric ids only: logins and slugs arrive resolved, ids pass through.
    assert prod["reviewers"] == [
        {"users": [int(FAKE_GITHUB_USER_ID), 1234567], "teams": [int(FAKE_GITHUB_TEAM_ID)]}
    ]
    assert prod["preventSelfReview"] is True
    assert prod["canAdminsBypass"] is False


@pytest.mark.parametrize("environment", [e for e in Environment if e is not Environment.PROD])
def test_reviewers_exist_only_in_prod(plans: dict[Environment, OfflineRun], environment: Environment) -> None:
    inputs = _one(plans[environment], ENVIRONMENT_TYPE).inputs
    assert not inputs.get("reviewers")
    assert inputs["preventSelfReview"] is False


def test_wait_timer_is_passed_through_when_asked_for() -> None:
    run = _plan(Environment.PROD, wait_timer_minutes=15)
    assert _one(run, ENVIRONMENT_TYPE).inputs["waitTimer"] == 15


@pytest.mark.parametrize("environment", list(Environment))
@pytest.mark.parametrize(
    "name", ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID", "PULUMI_CONFIG_PASSPHRASE"]
)
def test_azure_ids_and_extra_secrets_reach_github_as_secrets(
    plans: dict[Environment, OfflineRun], environment: Environment, name: str
) -> None:
    secret = _secret(plans[environment], name)
    assert secret.is_secret("value")
    assert secret.inputs["environment"] == environment.value
    assert "plaintextValue" not in secret.inputs, "the deprecated input is not used"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AZURE_CLIENT_ID", FAKE_CLIENT_ID),
        ("AZURE_TENANT_ID", FAKE_TENANT_ID),
        ("AZURE_SUBSCRIPTION_ID", FAKE_SUBSCRIPTION_ID),
    ],
)
def test_azure_secrets_are_wired_from_the_identity_outputs(
    plans: dict[Environment, OfflineRun], name: str, expected: str
) -> None:
    run = plans[Environment.DEV]
    secret = _secret(run, name)
    assert run.named("deployer").urn in secret.dependencies
    assert secret.plain_inputs()["value"] == expected


@pytest.mark.parametrize("environment", list(Environment))
def test_non_secret_settings_are_variables_wired_from_outputs(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    run = plans[environment]
    workspace = run.named("workspace").urn
    assert _variable(run, "PULUMI_STACK").inputs["value"] == environment.value
    assert _variable(run, "DATABRICKS_HOST").inputs["value"] == WORKSPACE_HOST
    assert _variable(run, "AZURE_RESOURCE_GROUP").inputs["value"] == f"rg-mlops-{environment}"
    assert workspace in _variable(run, "DATABRICKS_HOST").dependencies
    assert workspace in _variable(run, "AZURE_RESOURCE_GROUP").dependencies
    assert {r.plain_inputs()["secretName"] for r in run.of_type(SECRET_TYPE)}.isdisjoint(
        r.inputs["variableName"] for r in run.of_type(VARIABLE_TYPE)
    )


def test_a_changed_secret_value_updates_the_same_resource_in_place() -> None:
    """The value is a plain (non-replacing) input, and the logical names do not move.

    Known trap (docs/traps.md: variables-not-secrets).
    """
    before = _plan(Environment.UAT)
    after = _plan(Environment.UAT, config_value="rotated")
    urns = {r.urn for r in before.of_type(SECRET_TYPE)}
    assert urns == {r.urn for r in after.of_type(SECRET_TYPE)}
    changed = _secret(after, "PULUMI_CONFIG_PASSPHRASE")
    assert changed.plain_inputs()["value"] == "rotated"
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
    assert provider.inputs["owner"] == OWNER
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
def test_the_environment_name_is_the_oidc_subject_of_the_stack(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    name = _one(plans[environment], ENVIRONMENT_TYPE).inputs["environment"]
    assert oidc_subject(OWNER, REPOSITORY, name) == f"repo:{OWNER}/{REPOSITORY}:environment:{environment}"
