"""The program wires settings and foundation outputs into the workloads; it fails before registering."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pulumi
import pytest
from harness import PREVIEW_CLIENT_ID, StackPlans, settings_with, stack_document

from core.environment import PRODUCTION_LIKE, Environment
from infra.wheel import WheelError, read_wheel
from stacks import offline, wiring
from stacks.loading import PROJECT, ConfigError
from stacks.offline import OfflineRun, RecordedResource, run_offline
from stacks.plan import main as plan_main
from stacks.plan import stack_projects, stack_settings

ROOT = Path(__file__).resolve().parents[2]
JOB = "databricks:index/job:Job"


def test_what_a_program_registered_before_it_raised_reaches_the_engine(registrations: list[str]) -> None:
    """As the SDK's run_pulumi_func: a failing program's earlier registrations are still sent (a
    `pulumi up` creates them), so the "before any registration" tests below can fail."""

    def program() -> None:
        pulumi.CustomResource("test:index:Thing", "first", {})
        raise ValueError("half-way")

    with pytest.raises(ValueError, match="half-way"):
        run_offline(program, project=PROJECT, stack="dev", config={})
    assert [urn.rsplit("::", 1)[1] for urn in registrations] == ["first"]


def test_a_pinned_wheel_version_that_was_not_built_fails_before_any_registration(
    plan_with: StackPlans, registrations: list[str]
) -> None:
    entries = stack_document(Environment.UAT)["config"][f"{PROJECT}:projects"]
    pinned = [{**entry, "wheelVersion": "9.9.9"} if entry["name"] == "iris" else entry for entry in entries]
    with pytest.raises(ConfigError) as error:
        plan_with(Environment.UAT, {"projects": pinned})
    [problem] = error.value.problems
    assert problem.key == "projects[iris].wheelVersion"
    assert problem.value == "9.9.9"
    assert "make promote" in problem.message
    assert registrations == []


def test_another_build_of_the_pinned_version_fails_before_any_registration(
    plan_with: StackPlans, registrations: list[str]
) -> None:
    """Issue 29, finding 7: prod pins the bytes uat ran; the same version built from later ML code
    is refused, so code merged after the release cut never reaches prod unrun."""
    entries = stack_document(Environment.PROD)["config"][f"{PROJECT}:projects"]
    built = read_wheel(ROOT / "dist" / "iris")
    other = "0" * 64
    pinned = [
        {**entry, "wheelVersion": built.version, "wheelSha256": other} if entry["name"] == "iris" else entry
        for entry in entries
    ]
    with pytest.raises(ConfigError) as error:
        plan_with(Environment.PROD, {"projects": pinned})
    [problem] = error.value.problems
    assert (problem.key, problem.value) == ("projects[iris].wheelSha256", other)
    assert f"hashes to {built.sha256}, not the bytes the previous environment ran" in problem.message
    assert registrations == []
    # The sha of the wheel that was built passes.
    matching = [{**p, "wheelSha256": built.sha256} if p["name"] == "iris" else p for p in pinned]
    checked = wiring.checked_wheels(settings_with(Environment.PROD, {"projects": matching}))
    assert checked["iris"] == built.path


def test_no_built_wheel_fails_with_the_make_wheel_hint_before_any_registration(
    plan_with: StackPlans, registrations: list[str], tmp_path: Path
) -> None:
    with pytest.raises(WheelError, match="make wheel"):
        plan_with(Environment.DEV, dist=tmp_path / "dist")
    assert registrations == []


OTHER_SUBSCRIPTION = "99999999-9999-4999-8999-999999999999"


def test_a_login_to_another_subscription_fails_naming_both_before_any_registration(
    plan_with: StackPlans, registrations: list[str]
) -> None:
    """A stack planned from the wrong subscription would show its workspace and role assignments
    as replacements; the program stops first and says which subscription to log in to."""
    with pytest.raises(ConfigError) as error:
        plan_with(Environment.DEV, subscription_id=OTHER_SUBSCRIPTION)
    [problem] = error.value.problems
    configured = stack_settings(Environment.DEV).platform.subscription_id
    assert problem.key == "platform.subscriptionId"
    assert problem.value == configured
    assert OTHER_SUBSCRIPTION in problem.message
    assert f"az account set --subscription {configured}" in problem.message
    assert registrations == []


@pytest.mark.parametrize("environment", list(Environment))
def test_each_stack_deploys_into_the_subscription_its_stack_file_names(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    config, _ = offline.stack_config_from_file(ROOT / f"Pulumi.{environment}.yaml", PROJECT)
    subscription = json.loads(config[f"{PROJECT}:platform"])["subscriptionId"]
    assert plans[environment].exports["subscriptionId"] == subscription
    assignments = plans[environment].of_type("azure-native:authorization:RoleAssignment")
    assert assignments
    for assignment in assignments:
        assert assignment.plain_inputs()["roleDefinitionId"].startswith(f"/subscriptions/{subscription}/")


def test_plan_cli_reports_a_missing_wheel_as_a_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / "Pulumi.dev.yaml", tmp_path / "Pulumi.dev.yaml")
    monkeypatch.setattr(wiring, "DIST", tmp_path / "dist")
    assert plan_main(["--stack", "dev"], root=tmp_path) == 2
    assert "make wheel" in capsys.readouterr().err


@pytest.mark.parametrize("environment", list(Environment))
def test_job_schedules_run_only_in_uat_and_prod(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    scheduled = [job for job in plans[environment].of_type(JOB) if "schedule" in job.inputs]
    assert scheduled, f"{environment}: no scheduled job"
    expected = "UNPAUSED" if environment in PRODUCTION_LIKE else "PAUSED"
    assert {job.plain_inputs()["schedule"]["pauseStatus"] for job in scheduled} == {expected}


def _provider_of(run: OfflineRun, resource: RecordedResource) -> RecordedResource:
    urn = resource.provider.rsplit("::", 1)[0]  # a provider reference is "<urn>::<id>"
    return run.by_urn()[urn]


@pytest.mark.parametrize("environment", list(Environment))
def test_databricks_resources_use_the_provider_built_from_this_stacks_workspace(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    run = plans[environment]
    [workspace] = run.of_type("azure-native:databricks:Workspace")
    [provider] = run.of_type("pulumi:providers:databricks")
    assert workspace.urn in provider.dependencies
    assert provider.plain_inputs()["azureWorkspaceResourceId"].endswith(workspace.name)
    for job in run.of_type(JOB):
        assert _provider_of(run, job).urn == provider.urn


def test_ci_uses_github_oidc_with_the_deployer_identity(switched_plan: OfflineRun) -> None:
    """The switched dev stack is planned as its deploy job runs it (harness.SWITCHED_ENVIRON)."""
    run = switched_plan
    [provider] = run.of_type("pulumi:providers:databricks")
    inputs = provider.plain_inputs()
    assert inputs["authType"] == "github-oidc-azure"
    # The bootstrap's deployer of dev, through the handoff (Pulumi.dev.yaml, bootstrap section).
    assert run.of_type("azure-native:managedidentity:UserAssignedIdentity") == []
    assert (
        inputs["azureClientId"] == run.exports["deployerClientId"] == "00000000-0000-4000-8000-0000000000f1"
    )
    assert inputs["azureTenantId"] == offline.FAKE_TENANT_ID


def test_a_pr_preview_exchanges_the_token_as_the_identity_the_job_logged_in_as(
    prod_variant_plan: OfflineRun,
) -> None:
    """PR previews run as the read-only preview identity, not the environment's deployer: the prod
    variant is planned as a preview job runs it (harness.VARIANT_ENVIRON)."""
    [provider] = prod_variant_plan.of_type("pulumi:providers:databricks")
    assert provider.plain_inputs()["authType"] == "github-oidc-azure"
    assert (
        provider.plain_inputs()["azureClientId"]
        == PREVIEW_CLIENT_ID
        != prod_variant_plan.exports["deployerClientId"]
    )


def test_a_person_previews_with_the_azure_cli(plans: dict[Environment, OfflineRun]) -> None:
    for run in plans.values():
        [provider] = run.of_type("pulumi:providers:databricks")
        assert provider.plain_inputs()["authType"] == "azure-cli"
        assert "azureClientId" not in provider.inputs


@pytest.mark.parametrize("environment", list(Environment))
def test_the_wheel_upload_names_its_source_relative_to_the_project(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """An absolute path would differ between a laptop and CI, and every preview would show a diff."""
    sources = sorted(
        upload.plain_inputs()["source"] for upload in plans[environment].of_type("databricks:index/file:File")
    )
    # One wheel per project of the stack file, from its own dist/<name>/ (a user's added one too).
    assert {Path(source).parent.as_posix() for source in sources} == {
        f"dist/{name}" for name in stack_projects(environment)
    }
    assert len(sources) == len(stack_projects(environment))
    assert all((ROOT / source).is_file() for source in sources)
