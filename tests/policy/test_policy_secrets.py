"""Secrets: credential-looking inputs must be Pulumi secrets, and masked output never shows a value."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest

from policy.check_plan import evaluate
from policy.context import PolicyContext
from policy.registry import RULES
from policy.secret_inputs import check_secret_inputs, looks_secret
from stacks.offline import RecordedResource, run_offline

SECRET_RULE = next(rule for rule in RULES if rule.name == "secret-inputs-are-secrets")
CONTEXT = PolicyContext("dev", "contoso/mlops-platform")
PLAINTEXT = "hunter2-do-not-print-me"  # a fake credential the tests look for in output


@pytest.mark.parametrize(
    ("name", "secret_looking"),
    [
        ("clientSecret", True),
        ("password", True),
        ("adminPassword", True),
        ("apiKey", True),
        ("accessKey", True),
        ("sasToken", True),
        ("OPENAI_API_KEY", True),
        ("personalAccessToken", True),
        ("credentials", True),
        ("keyVaultUri", False),  # names where a key lives
        ("keySource", False),
        ("publicKey", False),  # public by definition
        ("sshPublicKeys", False),
        ("secretName", False),  # names a secret, does not hold one
        ("keyVaultId", False),
        ("secretScope", False),
        ("tokenLifetime", False),
        ("monkey", False),  # words, not substrings
        ("enableRbacAuthorization", False),
        ("storageAccountKey", True),
        ("privateKey", True),
        ("taskKey", False),  # a key that names a task, an environment, a tag: identifiers
        ("environmentKey", False),
        ("jobClusterKey", False),
        ("key", False),
    ],
)
def test_secret_looking_names_follow_the_word_table(name: str, secret_looking: bool) -> None:
    assert looks_secret(name) is secret_looking


@pytest.mark.parametrize(
    ("resource_type", "props", "flagged_path"),
    [
        ("test:index:Thing", {"clientSecret": PLAINTEXT}, "clientSecret"),
        ("test:index:Thing", {"clientSecret": "[secret]"}, None),
        ("test:index:Thing", {"clientSecret": "[computed]"}, None),  # unknown until apply: not judged
        ("test:index:Thing", {"settings": {"dbPassword": PLAINTEXT}}, "settings.dbPassword"),
        ("test:index:Thing", {"settings": "[secret]"}, None),  # a whole secret object
        ("test:index:Thing", {"env": {"API_TOKEN": "{{secrets/iris/api-token}}"}}, None),  # a reference
        ("test:index:Thing", {"keyVaultUri": "https://kv.vault.azure.net/"}, None),
        ("databricks:index/secret:Secret", {"key": "api-token", "stringValue": PLAINTEXT}, "stringValue"),
        ("databricks:index/secret:Secret", {"key": "api-token", "stringValue": "[secret]"}, None),
        ("azure-native:keyvault:Secret", {"properties": {"value": PLAINTEXT}}, "properties.value"),
        (
            "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret",
            {"secretName": "AZURE_X", "plaintextValue": PLAINTEXT},  # pragma: allowlist secret
            "plaintextValue",
        ),
    ],
)
def test_plaintext_credentials_are_flagged_by_path_and_never_echoed(
    resource_type: str, props: dict[str, Any], flagged_path: str | None
) -> None:
    violations = check_secret_inputs(resource_type, props, CONTEXT)
    if flagged_path is None:
        assert violations == []
    else:
        assert [message.split(" ", 1)[0] for message in violations] == [flagged_path]
    assert all(PLAINTEXT not in message for message in violations)


def _program_with_a_secret_and_a_leak() -> None:
    config = pulumi.Config()
    pulumi.CustomResource(
        "test:index:Thing", "kept-secret", {"clientSecret": config.require_secret("clientSecret")}
    )
    # The mistake the rule exists for: a credential read with require() instead of require_secret().
    pulumi.CustomResource("test:index:Thing", "leaked", {"clientSecret": config.require("clientSecret")})


@pytest.fixture(scope="module")
def leaky_run() -> list[RecordedResource]:
    run = run_offline(
        _program_with_a_secret_and_a_leak,
        project="secrets-test",
        stack="dev",
        config={"secrets-test:clientSecret": PLAINTEXT},
        secret_keys=frozenset({"secrets-test:clientSecret"}),
    )
    return run.resources


def test_masked_plan_json_never_contains_a_secret_value(leaky_run: list[RecordedResource]) -> None:
    kept = next(r for r in leaky_run if r.name == "kept-secret")
    assert kept.is_secret("clientSecret")
    assert kept.plain_inputs()["clientSecret"] == PLAINTEXT  # the engine does receive the value...
    plan = {"stack": "dev", "resources": [{"urn": kept.urn, "inputs": kept.masked_inputs()}]}
    assert PLAINTEXT not in json.dumps(plan)  # ...but the masked plan never shows it


def test_offline_pack_flags_only_the_credential_that_is_not_a_secret(
    leaky_run: list[RecordedResource],
) -> None:
    violations = evaluate(leaky_run, stack="dev", github_repository=None, rules=[SECRET_RULE])
    assert [(v.urn.rsplit("::", 1)[-1], v.message.split(" ", 1)[0]) for v in violations] == [
        ("leaked", "clientSecret")
    ]
    assert all(PLAINTEXT not in str(v) for v in violations)
