"""Secrets stay secret: never plaintext in stack files, always secret on the way to a resource."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from stacks.loading import PROJECT
from stacks.offline import FAKE_SUBSCRIPTION_ID, SECRET_PLACEHOLDER, OfflineRun, run_offline
from stacks.plan import plan_json
from stacks.program import program

ROOT = Path(__file__).resolve().parents[2]
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
SECRET_LOOKING_KEY = re.compile(r"(secret|password|token|webhook|credential|apikey|pat)$", re.IGNORECASE)
SECRET_LOOKING_VALUE = re.compile(r"(dapi[0-9a-f]{32}|gh[pousr]_[A-Za-z0-9]{30,}|[A-Za-z0-9+/]{40,}={0,2})")


def _leaves(value: object, path: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return []  # encrypted by Pulumi: the only acceptable form
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def test_there_is_a_stack_file_per_environment() -> None:
    assert {p.name for p in STACK_FILES} == {f"Pulumi.{s}.yaml" for s in ("sandbox", "dev", "uat", "prod")}


@pytest.mark.parametrize("path", STACK_FILES, ids=[p.name for p in STACK_FILES])
def test_stack_file_holds_no_plaintext_secret(path: Path) -> None:
    config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
    for key, value in _leaves(config):
        last = key.split(":")[-1].split(".")[-1]
        assert not SECRET_LOOKING_KEY.search(last), (
            f"{path.name}: {key} looks secret; use `pulumi config set --secret`"
        )
        assert not SECRET_LOOKING_VALUE.search(str(value)), f"{path.name}: {key} holds a secret-looking value"


@pytest.fixture(scope="module")
def run_with_secret() -> OfflineRun:
    github = {"owner": "acme", "repository": "mlops", "extraSecrets": {"SLACK_WEBHOOK": "slackWebhook"}}
    databricks = {
        "failureNotificationEmails": ["oncall@example.com"],
        "accountId": "00000000-0000-4000-8000-00000000acc0",
    }
    config = {
        f"{PROJECT}:platform": json.dumps({"subscriptionId": FAKE_SUBSCRIPTION_ID}),
        f"{PROJECT}:bootstrap": json.dumps(
            {
                "previewPrincipalId": "00000000-0000-4000-8000-0000000000e1",
                "previewClientId": "00000000-0000-4000-8000-0000000000e2",
            }
        ),
        f"{PROJECT}:github": json.dumps(github),
        f"{PROJECT}:databricks": json.dumps(databricks),
        f"{PROJECT}:slackWebhook": SECRET_PLACEHOLDER,
    }
    return run_offline(
        program,
        project=PROJECT,
        stack="dev",
        config=config,
        secret_keys=frozenset({f"{PROJECT}:slackWebhook"}),
    )


def test_secret_config_reaches_the_vault_secret_as_a_secret(run_with_secret: OfflineRun) -> None:
    secret = run_with_secret.named("platform-keyvault-secret-slack-webhook")
    assert secret.is_secret("properties")
    assert secret.masked_inputs()["properties"] == "[secret]"
    assert secret.plain_inputs()["properties"]["value"] == SECRET_PLACEHOLDER


def test_secret_config_reaches_the_github_environment_secret_as_a_secret(run_with_secret: OfflineRun) -> None:
    [secret] = [
        r
        for r in run_with_secret.of_type("github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret")
        if r.plain_inputs()["secretName"] == "SLACK_WEBHOOK"
    ]
    value_keys = [key for key in ("value", "plaintextValue") if key in secret.inputs]
    assert value_keys, "the GitHub secret carries no value"
    assert all(secret.is_secret(key) for key in value_keys)


def test_secret_values_appear_nowhere_in_the_plan_json_or_exports(run_with_secret: OfflineRun) -> None:
    rendered = json.dumps(plan_json(run_with_secret))
    assert SECRET_PLACEHOLDER not in rendered
    assert SECRET_PLACEHOLDER not in json.dumps(run_with_secret.exports)
