"""The pack over the real program's offline plan of all four stacks: no mandatory violation.

Uses the session-scoped ``plans`` fixture (Environment -> OfflineRun) of tests/conftest.py.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import yaml
from policy_schema import has_tags_input

from core.environment import Environment
from policy.check_plan import Violation, evaluate, evaluate_plan, mandatory
from policy.rule import Enforcement
from policy.tags import AZURE_NATIVE_PREFIX, TAGGABLE_TYPES
from stacks.offline import SECRET_PLACEHOLDER, OfflineRun
from stacks.plan import main as plan_cli

ROOT = Path(__file__).resolve().parents[2]
GITHUB_SETTINGS = "mlops-platform:github"

# Advisories the team has looked at and accepted, per environment: (environment, policy) -> why.
# A new advisory fails the test until someone either fixes it or adds it here with a reason.
ACCEPTED_ADVISORIES: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def all_plans(plans: dict[Environment, OfflineRun]) -> dict[Environment, OfflineRun]:
    return plans


def repository_of(environment: str) -> str | None:
    """owner/repo from the stack's settings (`mlops-platform:github`), as CI's policy config would be."""
    config = yaml.safe_load((ROOT / f"Pulumi.{environment}.yaml").read_text(encoding="utf-8"))["config"]
    github = config.get(GITHUB_SETTINGS) or {}
    owner, repository = github.get("owner"), github.get("repository")
    return f"{owner}/{repository}" if owner and repository else None


def _violations(run: OfflineRun) -> list[Violation]:
    return evaluate(run.resources, stack=run.stack, github_repository=repository_of(run.stack))


@pytest.mark.parametrize("environment", list(Environment))
def test_offline_plan_has_no_mandatory_violation(
    all_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    blocking = mandatory(_violations(all_plans[environment]))
    assert blocking == [], "\n".join(str(v) for v in blocking)


@pytest.mark.parametrize("environment", list(Environment))
def test_offline_plan_advisories_are_known(
    all_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    advisories = [v for v in _violations(all_plans[environment]) if v.enforcement is Enforcement.ADVISORY]
    for advisory in advisories:
        warnings.warn(f"{environment}: {advisory}", stacklevel=1)  # listed in pytest's summary
    unexplained = sorted(
        {v.policy for v in advisories} - {p for (e, p) in ACCEPTED_ADVISORIES if e == environment}
    )
    assert unexplained == [], (
        f"new advisories in {environment}: fix them or accept them in ACCEPTED_ADVISORIES"
    )


@pytest.mark.parametrize("environment", list(Environment))
def test_every_taggable_type_in_the_plan_is_in_the_table(
    all_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """A new Azure type with a tags property cannot slip past required-tags by being absent from the table."""
    azure_types = {r.type for r in all_plans[environment].resources if r.type.startswith(AZURE_NATIVE_PREFIX)}
    assert sorted(t for t in azure_types if has_tags_input(t) and t not in TAGGABLE_TYPES) == []


@pytest.mark.parametrize("environment", list(Environment))
def test_masked_plan_shows_no_secret_config_value(
    all_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """`secure:` values of Pulumi.<stack>.yaml reach resources only as secrets, so masking hides them."""
    masked = json.dumps([r.masked_inputs() for r in all_plans[environment].resources], default=str)
    assert SECRET_PLACEHOLDER not in masked


def test_masked_plan_of_a_stack_with_a_secure_value_shows_no_secret(secret_plan: OfflineRun) -> None:
    """The committed stacks hold no `secure:` value: this one does (tests/conftest.py, secret_plan)."""
    assert SECRET_PLACEHOLDER in json.dumps([r.plain_inputs() for r in secret_plan.resources])
    masked = json.dumps([r.masked_inputs() for r in secret_plan.resources], default=str)
    assert SECRET_PLACEHOLDER not in masked


@pytest.mark.parametrize("with_secret", [False, True], ids=["prod", "dev with a secure value"])
def test_plan_cli_json_shows_no_secret_and_passes_the_pack(
    with_secret: bool, secret_stack_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The contract JSON of `python -m stacks.plan --stack S --json` (its main(), in this process:
    a cold interpreter adds seconds and checks nothing more), judged as a PR check would."""
    stack, root = ("dev", secret_stack_root) if with_secret else ("prod", ROOT)
    assert plan_cli([f"--stack={stack}", "--json"], root) == 0
    printed = capsys.readouterr().out
    assert SECRET_PLACEHOLDER not in printed
    plan = json.loads(printed)
    if with_secret:  # the secret is in the plan, masked: the vault secret's value and GitHub's
        masked = [r for r in plan["resources"] if "[secret]" in json.dumps(r["inputs"])]
        assert {r["name"] for r in masked} >= {"platform-keyvault-secret-alert-webhook-url"}
    blocking = mandatory(evaluate_plan(plan, github_repository=repository_of(stack)))
    assert blocking == [], "\n".join(str(v) for v in blocking)
