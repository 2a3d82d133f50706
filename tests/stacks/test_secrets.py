"""Secrets stay secret: never plaintext in stack files, always secret on the way to a resource.

The committed stack files hold no `secure:` value; ``secret_plan`` (tests/conftest.py) is Pulumi.dev.yaml
with one, planned through the real program.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from harness import ROTATED, SECRET_KEY

from core.environment import Environment
from stacks.loading import PROJECT
from stacks.offline import SECRET_PLACEHOLDER, OfflineRun, stack_config_from_file
from stacks.plan import plan_json

ROOT = Path(__file__).resolve().parents[2]
STACK_FILES = sorted(ROOT.glob("Pulumi.*.yaml"))
VAULT_SECRET = "platform-keyvault-secret-alert-webhook-url"  # noqa: S105 - a resource name (the overlay's)  # pragma: allowlist secret
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


def test_the_secure_value_reaches_the_program_as_a_secret_config_key(secret_stack_root: Path) -> None:
    """The fixture stack holds a `secure:` value; the offline engine hands it over marked secret."""
    config, secret_keys = stack_config_from_file(secret_stack_root / "Pulumi.dev.yaml", PROJECT)
    assert secret_keys == {f"{PROJECT}:{SECRET_KEY}"}
    assert config[f"{PROJECT}:{SECRET_KEY}"] == SECRET_PLACEHOLDER


def test_secret_config_reaches_the_vault_secret_as_a_secret(secret_plan: OfflineRun) -> None:
    secret = secret_plan.named(VAULT_SECRET)
    assert secret.is_secret("properties")
    assert secret.masked_inputs()["properties"] == "[secret]"
    assert secret.plain_inputs()["properties"]["value"] == SECRET_PLACEHOLDER


def test_a_changed_secret_value_updates_the_same_vault_secret(
    secret_plan: OfflineRun, switched_plan: OfflineRun
) -> None:
    """The value is a plain (non-replacing) input and the logical name does not move: the switched
    dev stack keeps the same secret with another value."""
    before, after = secret_plan.named(VAULT_SECRET), switched_plan.named(VAULT_SECRET)
    assert before.urn == after.urn
    assert (
        after.plain_inputs()["properties"]["value"] == ROTATED != before.plain_inputs()["properties"]["value"]
    )
    assert after.options["replaceOnChanges"] == []


def test_no_environment_stack_copies_a_secret_to_github(plans: dict[Environment, OfflineRun]) -> None:
    """Finding 2 of issue 29: no long-lived token goes from a stack to GitHub, and no stack holds one."""
    for env, run in plans.items():
        assert not [r for r in run.resources if r.type.startswith(("github:", "pulumi:providers:github"))], (
            env
        )


def test_secret_values_appear_nowhere_in_the_plan_json_or_exports(secret_plan: OfflineRun) -> None:
    # The value is in the plan (unmasked), so its absence below is the masking, not its absence.
    assert SECRET_PLACEHOLDER in json.dumps([r.plain_inputs() for r in secret_plan.resources])
    rendered = json.dumps(plan_json(secret_plan))
    assert SECRET_PLACEHOLDER not in rendered
    assert SECRET_PLACEHOLDER not in json.dumps(secret_plan.exports)


def test_no_environments_preview_reads_github(
    plans: dict[Environment, OfflineRun], bootstrap_run: OfflineRun
) -> None:
    """Issue 24, defect 5: "preview prod" is a required check, and it once looked up prod's reviewer
    team through the GitHub API, with a token the bootstrap treated as optional. Teams are now read
    by the bootstrap only, with its operator's token; no environment's preview needs a GitHub token."""
    assert "github:index/getTeam:getTeam" in bootstrap_run.invokes  # the record sees GitHub reads
    for env, run in plans.items():
        assert run.invokes, env
        assert not [token for token in run.invokes if token.startswith("github:")], env
