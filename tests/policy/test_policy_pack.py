"""The pack as Pulumi runs it: registration, the entry point, and a real analyzer over gRPC."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from policy_examples import REPOSITORY, changed, compliant
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY

from policy.pack import PACK_NAME, build_policies
from policy.registry import RULES, STACK_RULES

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
VAULT = "azure-native:keyvault:Vault"


def test_pack_registers_every_rule_once_with_a_description() -> None:
    policies = build_policies()
    names = [policy.name for policy in policies]
    assert names == [rule.name for rule in RULES] + [rule.name for rule in STACK_RULES]
    assert len(set(names)) == len(names)
    resource_policies, stack_policies = policies[: len(RULES)], policies[len(RULES) :]
    for policy, rule in zip(resource_policies, RULES, strict=True):
        assert isinstance(policy, ResourceValidationPolicy)
        assert policy.description.strip()
        assert policy.enforcement_level == EnforcementLevel(rule.enforcement.value)
    for policy, stack_rule in zip(stack_policies, STACK_RULES, strict=True):
        assert isinstance(policy, StackValidationPolicy)
        assert policy.description.strip()
        assert policy.enforcement_level == EnforcementLevel(stack_rule.enforcement.value)


def test_entry_point_only_instantiates_the_pack() -> None:
    """__main__ builds nothing itself: one PolicyPack(name=..., policies=build_policies()) call."""
    tree = ast.parse((PACK_DIR / "__main__.py").read_text(encoding="utf-8"))
    calls = [
        node.value for node in tree.body if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    ]
    pack_calls = [call for call in calls if isinstance(call.func, ast.Name) and call.func.id == "PolicyPack"]
    assert len(pack_calls) == 1
    assert {keyword.arg for keyword in pack_calls[0].keywords} == {"name", "policies"}
    assert PACK_NAME == "mlops-platform-policies"


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(props, struct)
    return struct


def _secret(value: Any) -> dict[str, Any]:
    """A value as the engine sends a secret over gRPC."""
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    """The pack started the way the CLI starts it (python -m pulumi.policy <engine> <dir>) for stack prod."""
    env = {
        **os.environ,
        "PULUMI_PROJECT": "mlops-platform",
        "PULUMI_STACK": "prod",
        "PULUMI_DRY_RUN": "true",
        "GITHUB_REPOSITORY": REPOSITORY,
    }
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=PACK_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        assert port.isdigit(), server.stderr.read() if server.stderr else "no port"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _analyze(
    analyzer: analyzer_pb2_grpc.AnalyzerStub, resource_type: str, props: dict[str, Any]
) -> proto.AnalyzeResponse:
    request = proto.AnalyzeRequest(
        type=resource_type, properties=_struct(props), urn=f"urn:pulumi:prod::p::{resource_type}::r", name="r"
    )
    return analyzer.Analyze(request)


def test_real_pack_lists_every_policy_with_its_enforcement(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME
    levels = {policy.name: policy.enforcementLevel for policy in info.policies}
    expected = {
        rule.name: proto.MANDATORY if rule.enforcement == "mandatory" else proto.ADVISORY
        for rule in (*RULES, *STACK_RULES)
    }
    assert levels == expected


def test_real_pack_accepts_a_compliant_prod_vault(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    response = _analyze(analyzer, VAULT, compliant(VAULT, "prod"))
    assert list(response.diagnostics) == []


def test_real_pack_blocks_prod_vault_without_purge_protection(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    """The stack name (PULUMI_STACK=prod) reaches the rule: purge protection is required there."""
    props = changed(VAULT, "properties.enablePurgeProtection", ..., "prod")
    response = _analyze(analyzer, VAULT, props)
    assert [(d.policyName, d.enforcementLevel) for d in response.diagnostics] == [
        ("key-vault-hardened", proto.MANDATORY)
    ]
    assert "enablePurgeProtection must be true in prod" in response.diagnostics[0].message


def test_real_pack_takes_the_repository_from_github_repository(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    foreign = changed(FEDERATED, "subject", "repo:someone-else/fork:environment:prod")
    response = _analyze(analyzer, FEDERATED, foreign)
    assert [d.policyName for d in response.diagnostics] == ["federated-credential-scoped"]
    assert list(_analyze(analyzer, FEDERATED, compliant(FEDERATED, "prod")).diagnostics) == []


def test_real_pack_sees_secrets_unwrapped_so_the_secret_rule_defers_to_offline(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    """pulumi-policy strips the secret marker before policies run, so secretness is unknowable there."""
    response = _analyze(analyzer, "test:index:Thing", {"clientSecret": _secret("x"), "apiToken": "plain"})
    not_applicable = {item.policy_name: item.reason for item in response.not_applicable}
    assert "offline plan" in not_applicable["secret-inputs-are-secrets"]
    assert list(response.diagnostics) == []
