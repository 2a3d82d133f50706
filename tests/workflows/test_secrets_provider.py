"""The check every Pulumi job runs first: the committed stack file names its Key Vault key."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks import secrets_provider

KEY = "azurekeyvault://kv-mlops-sp.vault.azure.net/keys/stack-dev"


def _stack_file(root: Path, text: str) -> Path:
    (root / "Pulumi.dev.yaml").write_text(text + "config:\n  azure-native:location: westeurope\n")
    return root


def test_the_key_the_handoff_wrote_is_enough_and_becomes_the_steps_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No encryptedkey committed: the CLI wraps a data key with the named key on the first run."""
    root = _stack_file(tmp_path, f"secretsprovider: {KEY}\n")
    assert secrets_provider.main(["dev"], root) == 0
    assert capsys.readouterr().out == f"secrets-provider={KEY}\n"


@pytest.mark.parametrize("head", ["", "secretsprovider: passphrase\nencryptedkey: abc\n"])
def test_a_stack_file_without_its_key_vault_key_stops_the_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], head: str
) -> None:
    root = _stack_file(tmp_path, head)
    assert secrets_provider.main(["dev"], root) == secrets_provider.EXIT_BAD_CONFIG
    error = capsys.readouterr().err
    assert "Pulumi.dev.yaml names no Key Vault secrets provider" in error
    assert "keys/stack-dev" in error
