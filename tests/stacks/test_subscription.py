"""`python -m stacks.subscription <stack>`: the one subscription CI logs in to, from the stack file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from harness import committed_settings

from core.environment import Environment
from stacks.loading import PROJECT, build_settings, namespace_values
from stacks.offline import stack_config_from_file
from stacks.subscription import EXIT_BAD_CONFIG, main, stack_subscription

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("stack", list(Environment))
def test_it_is_the_subscription_the_settings_model_reads(stack: Environment) -> None:
    """The workflows log in to what the program will check the login against."""
    config, secret_keys = stack_config_from_file(ROOT / f"Pulumi.{stack}.yaml", PROJECT)
    values, secrets = namespace_values(config, secret_keys)
    assert stack_subscription(stack) == build_settings(stack, values, secrets).platform.subscription_id


def test_it_prints_the_subscription_and_the_stacks_own_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev"]) == 0
    backend = committed_settings(Environment.DEV).bootstrap.backend_url
    assert capsys.readouterr().out == f"subscription-id={stack_subscription('dev')}\nbackend-url={backend}\n"
    assert "pulumi-state-dev" in backend  # dev's own container (core/backend.py)


@pytest.mark.parametrize(
    ("stack", "environment", "allowed"),
    [("prod", "prod", True), ("prod", "prod-preview", True), ("prod", "dev", False), ("dev", "prod", False)],
)
def test_a_job_in_another_environment_is_refused(
    capsys: pytest.CaptureFixture[str], stack: str, environment: str, allowed: bool
) -> None:
    """main's workflow takes the stack and the environment from its caller: dev's identity must
    never run prod's stack (it could not decrypt it, and it must not try)."""
    code = main([stack, "--environment", environment])
    assert (code == 0) is allowed
    if not allowed:
        assert f"stack {stack} runs in GitHub environment {environment!r}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("platform", "shown"),
    [
        ("  mlops-platform:platform:\n    location: westeurope\n", "(missing)"),
        ("  mlops-platform:platform:\n    subscriptionId: my-subscription\n", '"my-subscription"'),
    ],
)
def test_a_missing_or_malformed_subscription_exits_2_naming_file_key_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], platform: str, shown: str
) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.dev.yaml").write_text(f"config:\n{platform}", encoding="utf-8")
    assert main(["dev"], root=tmp_path) == EXIT_BAD_CONFIG
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"Pulumi.dev.yaml: mlops-platform:platform.subscriptionId = {shown}: ")
    assert "allowed: the GUID of the subscription this stack deploys into" in captured.err
