"""The bootstrap's account-level step: who creates each account object, on which host, after what.

The example stack (``bootstrap/Pulumi.example-org.yaml``) sets ``databricks.accountId`` and
``manageAccount``: its plan holds the account groups every environment's stack file names, each
deployer registered in the account and put into its own environment's deployers group, all on a
provider against the account host with the operator's ``az login``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bootstrap.account_plan import METASTORE_PRIVILEGES, account_plan
from bootstrap.plan import plan_bootstrap
from bootstrap.settings import BootstrapSettings, build_bootstrap_settings
from core.environment import Environment
from core.pulumi_project import PROJECT
from infra.account_access import ACCOUNT_AUTH_TYPE, ACCOUNT_HOST
from stacks.loading import ConfigError, settings_from_config
from stacks.offline import OfflineRun, stack_config_from_file
from stacks.offline_fakes import fake_guid

ROOT = Path(__file__).resolve().parents[2]
GROUP = "databricks:index/group:Group"
MEMBER = "databricks:index/groupMember:GroupMember"
PRINCIPAL = "databricks:index/servicePrincipal:ServicePrincipal"
PROVIDER = "pulumi:providers:databricks"


def names_in_stack_files() -> set[str]:
    """Every account group the environments' own settings name, loaded as `pulumi up` loads them."""
    names: set[str] = set()
    for env in Environment:
        config, secrets = stack_config_from_file(ROOT / f"Pulumi.{env.value}.yaml", PROJECT)
        settings = settings_from_config(env.value, config, secrets)
        names |= {settings.databricks.deployers_group, settings.databricks.readers_group}
        names |= {p.developers_group for p in settings.projects}
        if settings.model.require_approval:
            names.add(settings.databricks.approvers_group)
    return names


def test_the_account_step_creates_every_group_the_environments_name(bootstrap_run: OfflineRun) -> None:
    created = {r.inputs["displayName"] for r in bootstrap_run.of_type(GROUP)}
    assert created == names_in_stack_files()
    assert {f"mlops-{env.value}-deployers" for env in Environment} <= created


def test_every_account_object_is_made_on_the_account_host_with_the_operators_az_login(
    bootstrap_run: OfflineRun,
) -> None:
    (provider,) = bootstrap_run.of_type(PROVIDER)
    assert provider.inputs["host"] == ACCOUNT_HOST == "https://accounts.azuredatabricks.net"
    assert provider.inputs["authType"] == ACCOUNT_AUTH_TYPE == "azure-cli"
    assert provider.inputs["accountId"] == "00000000-0000-4000-8000-00000000acc0"
    account_objects = [r for t in (GROUP, MEMBER, PRINCIPAL) for r in bootstrap_run.of_type(t)]
    assert account_objects
    assert all(r.provider.startswith(provider.urn) for r in account_objects)


def test_each_deployer_joins_its_own_environments_deployers_group_after_both_exist(
    bootstrap_run: OfflineRun, bootstrap_settings: BootstrapSettings
) -> None:
    groups = {r.urn: r.inputs["displayName"] for r in bootstrap_run.of_type(GROUP)}
    principals = {r.urn: r.inputs["applicationId"] for r in bootstrap_run.of_type(PRINCIPAL)}
    joined = {}
    for member in bootstrap_run.of_type(MEMBER):
        (group,) = [groups[u] for u in member.dependencies if u in groups]
        (application,) = [principals[u] for u in member.dependencies if u in principals]
        joined[application] = group
    # Every environment's deployer, the bootstrap's own (issue 25, part a): the mocks' client ids.
    assert joined == {
        fake_guid("client", f"deployer-{env}-identity"): f"mlops-{env.value}-deployers"
        for env in bootstrap_settings.environments
    }


def test_without_manage_account_nothing_is_created_and_the_objects_are_exported(tmp_path: Path) -> None:
    stack_file = tmp_path / "bootstrap" / "Pulumi.example-org.yaml"
    stack_file.parent.mkdir()
    document = yaml.safe_load((ROOT / "bootstrap" / "Pulumi.example-org.yaml").read_text())
    document["config"]["mlops-bootstrap:databricks"]["manageAccount"] = False
    stack_file.write_text(yaml.safe_dump(document))
    run = plan_bootstrap("example-org", tmp_path)
    assert not [r for r in run.resources if r.type.startswith("databricks:") or r.type == PROVIDER]
    exported = run.exports["accountObjects"]
    assert exported["managed"] is False
    assert {g["name"] for g in exported["groups"]} == names_in_stack_files()
    assert exported["deployers"]["dev"] == {
        "group": "mlops-dev-deployers",
        "applicationId": fake_guid("client", "deployer-dev-identity"),
        "displayName": "mlops-dev-deployer",
    }
    assert exported["metastorePrivileges"] == list(METASTORE_PRIVILEGES)


def _settings(databricks: dict[str, object], bootstrap_settings: BootstrapSettings) -> BootstrapSettings:
    raw = bootstrap_settings.model_dump(by_alias=True, exclude={"stack"}, mode="json")
    return build_bootstrap_settings("example-org", {**raw, "databricks": databricks})


def _copy_stacks(tmp_path: Path) -> None:
    for env in Environment:
        shutil.copy(ROOT / f"Pulumi.{env.value}.yaml", tmp_path)


def test_a_group_renamed_in_an_environments_stack_file_is_the_group_the_account_step_makes(
    tmp_path: Path, bootstrap_settings: BootstrapSettings
) -> None:
    _copy_stacks(tmp_path)
    dev = tmp_path / "Pulumi.dev.yaml"
    document = yaml.safe_load(dev.read_text())
    document["config"]["mlops-platform:databricks"]["deployersGroup"] = "data-dev-owners"
    dev.write_text(yaml.safe_dump(document))
    plan = account_plan(
        _settings({"accountId": "00000000-0000-4000-8000-00000000acc0"}, bootstrap_settings), tmp_path
    )
    assert plan is not None
    assert plan.deployers_groups[Environment.DEV] == "data-dev-owners"
    assert "data-dev-owners" in {g.name for g in plan.groups}
    assert "mlops-dev-deployers" not in {g.name for g in plan.groups}


def test_an_environment_on_another_account_is_refused_before_anything_is_planned(
    tmp_path: Path, bootstrap_settings: BootstrapSettings
) -> None:
    _copy_stacks(tmp_path)
    other = "00000000-0000-4000-8000-00000000acc9"
    with pytest.raises(
        ConfigError,
        match=r"databricks.accountId.*Pulumi.dev.yaml names account 00000000-0000-4000-8000-00000000acc0",
    ):
        account_plan(_settings({"accountId": other}, bootstrap_settings), tmp_path)


def test_no_account_id_means_no_account_step(bootstrap_settings: BootstrapSettings) -> None:
    assert account_plan(_settings({}, bootstrap_settings)) is None


def test_managing_the_account_needs_its_id(bootstrap_settings: BootstrapSettings) -> None:
    with pytest.raises(ConfigError, match="manageAccount is true but accountId is not set"):
        _settings({"manageAccount": True}, bootstrap_settings)
