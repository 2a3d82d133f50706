"""Bad bootstrap config fails before anything is registered, one line per problem naming the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bootstrap.plan import main as plan_main
from bootstrap.plan import plan_bootstrap
from bootstrap.program import config_values
from bootstrap.settings import build_bootstrap_settings
from core.pulumi_project import BOOTSTRAP_PROJECT
from stacks.loading import ConfigError
from stacks.offline import OfflineRun, stack_config_from_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "bootstrap" / "Pulumi.example-org.yaml"
SUBSCRIPTION = "00000000-0000-4000-8000-0000000000b0"  # the example stack's


def _values() -> dict[str, Any]:
    config, _ = stack_config_from_file(EXAMPLE, BOOTSTRAP_PROJECT)
    return config_values(config)


def _problems(values: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        build_bootstrap_settings("example-org", values)
    return str(error.value)


def test_the_example_stack_is_valid() -> None:
    settings = build_bootstrap_settings("example-org", _values())
    assert settings.github.owner == "example-org"


def test_missing_release_managers_names_the_key_and_the_file() -> None:
    values = _values()
    del values["github"]["releaseManagers"]
    message = _problems(values)
    assert message.startswith("bootstrap/Pulumi.example-org.yaml has 1 configuration problem(s)")
    assert "mlops-bootstrap:github.releaseManagers = (missing): required" in message


def test_prod_reviewers_who_also_push_release_refs_are_refused() -> None:
    """Issue 29, finding 6: one colleague's approval of a tag they could push themselves ships it."""
    values = _values()
    values["github"]["prodReviewers"] = [
        *values["github"]["prodReviewers"],
        values["github"]["releaseManagers"][0],
    ]
    message = _problems(values)
    assert "team mlops-release-managers both pushes release refs and approves prod" in message


def test_deployer_of_an_environment_without_a_key_is_refused() -> None:
    values = {**_values(), "environments": ["dev"]}
    message = _problems(values)
    assert "deployers names prod, uat, not in environments; allowed: dev" in message


def test_an_adopted_deployer_is_named_by_its_identity_id() -> None:
    values = {**_values(), "deployers": {"dev": {"identityId": "id-mlops-dev-deployer"}}}
    message = _problems(values)
    assert 'mlops-bootstrap:deployers.dev.identityId = "id-mlops-dev-deployer": expected' in message


def test_the_former_deployer_ids_say_what_replaces_them() -> None:
    """A stack file from before the bootstrap owned the deployers names the output to copy instead."""
    values = {**_values(), "deployers": {"dev": {"principalId": "00000000-0000-4000-8000-0000000000d1"}}}
    message = _problems(values)
    assert "mlops-bootstrap:deployers.dev" in message
    assert "replace them with identityId (`pulumi stack output deployerIdentityId -s <env>`)" in message


def test_unknown_key_suggests_the_close_one() -> None:
    values = {**_values(), "stat": {"protect": False}}
    assert "unknown key (did you mean 'state'?)" in _problems(values)


def test_unknown_environment_in_environments_lists_the_allowed_ones() -> None:
    values = {**_values(), "environments": ["qa"]}
    assert "'sandbox', 'dev', 'uat' or 'prod'" in _problems(values)


def test_plan_cli_exits_2_with_the_problem_on_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bootstrap").mkdir()
    text = EXAMPLE.read_text(encoding="utf-8").replace("type: team", "type: robot")
    (tmp_path / "bootstrap" / "Pulumi.example-org.yaml").write_text(text, encoding="utf-8")
    assert plan_main(["--stack", "example-org"], root=tmp_path) == 2
    assert "mlops-bootstrap:github.releaseManagers.0.type" in capsys.readouterr().err


def test_plan_cli_prints_the_json_shape_of_stacks_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan_main(["--stack", "example-org", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"stack": "example-org"' in out
    assert '"type": "azure-native:storage:StorageAccount"' in out


def test_a_login_to_another_subscription_stops_before_anything_is_registered() -> None:
    other = "00000000-0000-4000-8000-0000000000ff"
    with pytest.raises(ConfigError) as error:
        plan_bootstrap("example-org", subscription_id=other)
    message = str(error.value)
    assert f'mlops-bootstrap:platform.subscriptionId = "{SUBSCRIPTION}"' in message
    assert f"the Azure login is to subscription {other}" in message


def _workflow_references(kind: str) -> dict[str, set[str]]:
    """Workflow file -> names it reads as ``${{ <kind>.NAME }}``."""
    pattern = re.compile(r"\$\{\{\s*" + kind + r"\.([A-Z][A-Z0-9_]*)\s*\}\}")
    return {
        path.name: set(pattern.findall(path.read_text(encoding="utf-8")))
        for path in sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    }


def test_repository_secrets_are_what_the_pull_request_preview_reads(bootstrap_run: OfflineRun) -> None:
    """Every repository-level secret the PR preview reads is written by the bootstrap, and nothing
    more: everything else a job reads is its environment's (infra/github.py) or its stack file's."""
    written = set(bootstrap_run.exports["repositorySecrets"])
    read = _workflow_references("secrets")
    assert read["pr.yml"] == written
    assert read["pr-preview.yml"] == written
    assert not set().union(*_workflow_references("vars").values()), "no workflow reads a variable"
