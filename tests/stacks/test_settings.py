"""Settings: every stack file validates; every user mistake gives one clear error and no resources."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from settings_cases import ALERTS, BAD_CONFIGS, BOOTSTRAP, GITHUB, PLATFORM, VALID

from core.environment import Environment
from stacks import offline
from stacks.loading import PROJECT, ConfigError, build_settings
from stacks.offline import run_offline, stack_config_from_file
from stacks.plan import stack_file
from stacks.program import program
from stacks.reference import render_reference
from stacks.settings import StackSettings, promotable_keys


@pytest.mark.parametrize("environment", list(Environment))
def test_every_committed_stack_file_validates(environment: Environment) -> None:
    config, _secret_keys = stack_config_from_file(stack_file(environment), PROJECT)
    values = {k.removeprefix(f"{PROJECT}:"): v for k, v in config.items() if k.startswith(f"{PROJECT}:")}
    settings = build_settings(environment, {k: _json(v) for k, v in values.items()})
    assert settings.environment is environment


def _json(value: str) -> Any:
    import json  # noqa: PLC0415 - only this helper decodes

    return json.loads(value) if value[:1] in "{[" else value


def test_a_stack_file_without_an_account_id_names_the_key_it_needs() -> None:
    databricks = {k: v for k, v in ALERTS.items() if k != "accountId"}
    with pytest.raises(ConfigError) as error:
        build_settings(
            "dev",
            {**VALID, "databricks": databricks},
        )
    [problem] = error.value.problems
    assert problem.key == "databricks.accountId"
    assert "required; Databricks account id" in problem.message


def test_the_key_vault_backed_secret_scope_is_gone() -> None:
    """Defect 6: nothing granted Databricks access to the vault; the option is refused by name."""
    removed = {"secretScopeBackend": "azure_keyvault"}  # pragma: allowlist secret
    with pytest.raises(ConfigError) as error:
        build_settings("dev", {**VALID, "databricks": {**ALERTS, **removed}})
    [problem] = error.value.problems
    assert problem.key == "databricks.secretScopeBackend"
    assert "unknown key" in problem.message


def test_a_stack_file_without_a_subscription_names_the_key_it_needs() -> None:
    with pytest.raises(ConfigError) as error:
        build_settings("dev", {key: value for key, value in VALID.items() if key != "platform"})
    [problem] = error.value.problems
    assert problem.key == "platform.subscriptionId"
    assert "required; Azure subscription (GUID) this stack deploys into" in problem.message


def test_an_empty_section_names_its_required_keys() -> None:
    # `mlops-platform:platform:` with nothing under it is YAML null, not "no valid dictionary".
    with pytest.raises(ConfigError) as error:
        build_settings("dev", {**VALID, "platform": None})
    [problem] = error.value.problems
    assert problem.key == "platform.subscriptionId"
    assert problem.message.startswith("required; Azure subscription (GUID)")


@pytest.mark.parametrize(("stack", "values", "key", "shown", "allowed"), BAD_CONFIGS)
def test_bad_config_names_stack_key_value_and_what_is_allowed(
    stack: str, values: dict[str, Any], key: str, shown: str, allowed: str
) -> None:
    with pytest.raises(ConfigError) as error:
        build_settings(stack, values)
    lines = [line for line in str(error.value).splitlines() if f"{PROJECT}:{key} = " in line]
    assert len(lines) == 1, str(error.value)
    assert lines[0].strip().startswith(f"- {stack}: ")
    assert shown in lines[0]
    assert allowed in lines[0]


@pytest.mark.parametrize(
    ("stack", "values"),
    [
        (
            "dev",
            {
                "github": GITHUB,
                "databricks": ALERTS,
                "platform": {**PLATFORM, "location": "westeurop"},
                "bootstrap": BOOTSTRAP,
            },
        ),
        ("prod", {**VALID, "workspace": {"noPublicIp": False}}),
        (
            "dev",
            {
                "github": GITHUB,
                "databricks": ALERTS,
                "platform": PLATFORM,
                "bootstrap": BOOTSTRAP,
                "monitorng": {},
            },
        ),
    ],
)
def test_bad_config_registers_no_resource(
    monkeypatch: pytest.MonkeyPatch, stack: str, values: dict[str, Any]
) -> None:
    registered: list[str] = []
    record = offline._record
    monkeypatch.setattr(
        offline, "_record", lambda request, urn: registered.append(urn) or record(request, urn)
    )
    config = {f"{PROJECT}:{k}": _as_config(v) for k, v in values.items()}
    with pytest.raises(ConfigError):
        run_offline(program, project=PROJECT, stack=stack, config=config)
    assert registered == []


def _as_config(value: Any) -> str:
    import json  # noqa: PLC0415

    return json.dumps(value)


def test_every_problem_is_reported_at_once_one_line_each() -> None:
    values = {
        **VALID,
        "platform": {**PLATFORM, "location": "mars"},
        "monitoring": {"retentionDays": 1},
        "keyVault": {"sku": "gold", "softDeleteRetentionDays": 1},
    }
    with pytest.raises(ConfigError) as error:
        build_settings("dev", values)
    assert len(error.value.problems) == 4
    assert len(str(error.value).splitlines()) == 1 + 4
    assert {p.key for p in error.value.problems} == {
        "platform.location", "monitoring.retentionDays", "keyVault.sku", "keyVault.softDeleteRetentionDays",
    }  # fmt: skip


def test_settings_are_frozen() -> None:
    settings = build_settings(
        "dev",
        VALID,
    )
    with pytest.raises(ValueError, match="frozen"):
        settings.platform.location = "eastus"  # type: ignore[misc]


def test_promotable_keys_are_the_release_settings_and_exist_in_the_schema() -> None:
    keys = promotable_keys()
    assert set(keys) == {
        "projects[].wheelVersion",
        "projects[].wheelSha256",
        "projects[].primaryMetric",
        "projects[].margin",
    }
    dumped = build_settings(
        "dev",
        VALID,
    ).model_dump(by_alias=True)
    for key in keys:
        section, field = key.split(".")
        assert field in dumped[section.removesuffix("[]")][0]


def test_reference_lists_every_config_key_with_a_default_per_environment() -> None:
    reference = render_reference()
    rows = [line for line in reference.splitlines() if line.startswith("| `")]
    assert len(rows) >= 40
    assert all(len(re.findall(r"\| `[^`]*` ", line)) >= 1 + len(Environment) for line in rows)
    assert re.search(r"\| `monitoring.retentionDays` \| int \| `30` \| `30` \| `90` \| `365` \|", reference)
    assert "environment" not in {row.split("`")[1] for row in rows}
    assert StackSettings.model_fields["environment"].alias == "environment"


def test_no_stack_file_path_is_outside_the_repo() -> None:
    assert all(stack_file(env).parent == Path(__file__).resolve().parents[2] for env in Environment)


def test_gate_metrics_are_the_ones_the_wheel_computes() -> None:
    """A metric the settings accept but the wheel cannot compute would fail only at run time."""
    from mlops_framework.metrics import METRICS  # noqa: PLC0415 - the ml package, with scikit-learn

    from stacks.projects import ProjectSettings  # noqa: PLC0415

    accepted = ProjectSettings.model_fields["primary_metric"].annotation
    assert isinstance(accepted, type)
    assert set(accepted) == set(METRICS)  # type: ignore[call-overload]
