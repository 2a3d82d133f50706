"""`make promote`: only promotable keys move, everything else stays byte-identical, bad input is refused.

Every test works on temporary copies; the repository's own stack files are never written.
"""

from __future__ import annotations

import difflib
import io
from pathlib import Path

import pytest
import yaml

from stacks.promote import (
    EXIT_REFUSED,
    WHEEL_VERSION_KEY,
    PromotionRefusedError,
    main,
    plan_promotion,
    promotion_pair,
    round_trip_yaml,
)

KEYS = ("model.primaryMetric", "model.margin", WHEEL_VERSION_KEY)
PROMOTED_LEAVES = ("primaryMetric:", "margin:", "wheelVersion:")
REPO_ROOT = Path(__file__).resolve().parents[2]

UAT = """\
# uat: the release candidate, deployed from release/* by CI.
secretsprovider: azurekeyvault://kv-mlops-uat.vault.azure.net/keys/pulumi
encryptedkey: ZmFrZS1rZXktZm9yLXRlc3Rz
config:
  azure-native:location: westeurope
  mlops-platform:workspace:
    sku: standard
  mlops-platform:model:
    primaryMetric: f1_macro   # what the gate compares
    margin: 0.02
  mlops-platform:artifact:
    wheelVersion: "0.3.0"
  mlops-platform:github:
    owner: acme-ml
    repository: mlops-platform
"""

PROD = """\
# prod: deployed when a promotion PR merges; every change here is reviewed.
secretsprovider: azurekeyvault://kv-mlops-prod.vault.azure.net/keys/pulumi
encryptedkey: ZmFrZS1wcm9kLWtleQ==
config:
  azure-native:location: westeurope
  # Production SKUs, network and reviewers are prod's own: promotion never touches them.
  mlops-platform:workspace:
    sku: premium
    noPublicIp: true
  mlops-platform:model:
    primaryMetric: accuracy
    margin: 0.01  # tightened after the 0.2 review
  mlops-platform:artifact:
    wheelVersion: "0.2.0"   # pinned by make promote
  mlops-platform:github:
    reviewers:
      - type: team
        name: platform-approvers
"""

PYPROJECT = '[project]\nname = "iris-mlops"\nversion = "{version}"\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.uat.yaml").write_text(UAT, encoding="utf-8")
    (tmp_path / "Pulumi.prod.yaml").write_text(PROD, encoding="utf-8")
    (tmp_path / "ml").mkdir()
    (tmp_path / "ml" / "pyproject.toml").write_text(PYPROJECT.format(version="0.3.0"), encoding="utf-8")
    return tmp_path


def _config(text: str) -> dict[str, object]:
    config: dict[str, object] = yaml.safe_load(text)["config"]
    return config


def test_promotable_keys_take_the_source_values(repo: Path) -> None:
    promotion = plan_promotion(repo, "uat", "prod", KEYS)
    after = _config(promotion.after)
    assert after["mlops-platform:model"] == {"primaryMetric": "f1_macro", "margin": 0.02}
    assert after["mlops-platform:artifact"] == {"wheelVersion": "0.3.0"}
    assert set(promotion.changed_keys) == set(KEYS)


def test_environment_specific_settings_do_not_move(repo: Path) -> None:
    before, after = _config(PROD), _config(plan_promotion(repo, "uat", "prod", KEYS).after)
    for section in ("azure-native:location", "mlops-platform:workspace", "mlops-platform:github"):
        assert after[section] == before[section]
    document = yaml.safe_load(plan_promotion(repo, "uat", "prod", KEYS).after)
    assert document["secretsprovider"] == "azurekeyvault://kv-mlops-prod.vault.azure.net/keys/pulumi"


def test_every_line_but_the_promoted_values_stays_byte_identical(repo: Path) -> None:
    after = plan_promotion(repo, "uat", "prod", KEYS).after
    changed = [
        line for line in difflib.ndiff(PROD.splitlines(), after.splitlines()) if line.startswith(("- ", "+ "))
    ]
    assert changed
    assert all(any(leaf in line for leaf in PROMOTED_LEAVES) for line in changed), changed


def test_comments_order_and_quoting_survive(repo: Path) -> None:
    after = plan_promotion(repo, "uat", "prod", KEYS).after
    assert "    margin: 0.02  # tightened after the 0.2 review" in after
    assert '    wheelVersion: "0.3.0"   # pinned by make promote' in after
    assert "  # Production SKUs, network and reviewers are prod's own" in after
    assert list(_config(after)) == list(_config(PROD))


def test_promoting_twice_changes_nothing(repo: Path) -> None:
    assert main(["--from", "uat", "--to", "prod", "--root", str(repo)], keys=KEYS) == 0
    again = plan_promotion(repo, "uat", "prod", KEYS)
    assert again.changed_keys == ()
    assert again.after == again.before


def test_a_key_the_source_leaves_to_its_default_is_removed_from_the_target(repo: Path) -> None:
    (repo / "Pulumi.uat.yaml").write_text(UAT.replace("    margin: 0.02\n", ""), encoding="utf-8")
    after = _config(plan_promotion(repo, "uat", "prod", KEYS).after)
    assert after["mlops-platform:model"] == {"primaryMetric": "f1_macro"}


def test_a_section_left_empty_is_dropped_and_a_missing_one_is_created(repo: Path) -> None:
    without_model = UAT.replace(
        "  mlops-platform:model:\n    primaryMetric: f1_macro   # what the gate compares\n", ""
    )
    (repo / "Pulumi.uat.yaml").write_text(without_model.replace("    margin: 0.02\n", ""), encoding="utf-8")
    prod_without_artifact = PROD.replace(
        '  mlops-platform:artifact:\n    wheelVersion: "0.2.0"   # pinned by make promote\n', ""
    )
    (repo / "Pulumi.prod.yaml").write_text(prod_without_artifact, encoding="utf-8")
    after = _config(plan_promotion(repo, "uat", "prod", KEYS).after)
    assert "mlops-platform:model" not in after
    assert after["mlops-platform:artifact"] == {"wheelVersion": "0.3.0"}


def test_dry_run_prints_the_diff_and_writes_nothing(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--from", "uat", "--to", "prod", "--dry-run", "--root", str(repo)], keys=KEYS) == 0
    out = capsys.readouterr().out
    assert '+    wheelVersion: "0.3.0"' in out
    assert '-    wheelVersion: "0.2.0"' in out
    assert "dry run" in out
    assert (repo / "Pulumi.prod.yaml").read_text(encoding="utf-8") == PROD


def test_promotion_writes_the_planned_file_and_leaves_the_source_alone(repo: Path) -> None:
    planned = plan_promotion(repo, "uat", "prod", KEYS).after
    assert main(["--from", "uat", "--to", "prod", "--root", str(repo)], keys=KEYS) == 0
    assert (repo / "Pulumi.prod.yaml").read_text(encoding="utf-8") == planned
    assert (repo / "Pulumi.uat.yaml").read_text(encoding="utf-8") == UAT


@pytest.mark.parametrize(("source", "target"), [("dev", "uat"), ("uat", "prod"), ("dev", "prod")])
def test_later_stacks_of_the_promotion_order_are_accepted(source: str, target: str) -> None:
    assert [s.value for s in promotion_pair(source, target)] == [source, target]


def _drop_pin(repo: Path) -> None:
    (repo / "Pulumi.uat.yaml").write_text(UAT.replace('    wheelVersion: "0.3.0"\n', ""), encoding="utf-8")


def _bump_code(repo: Path) -> None:
    (repo / "ml" / "pyproject.toml").write_text(PYPROJECT.format(version="0.4.0"), encoding="utf-8")


def _remove_source(repo: Path) -> None:
    (repo / "Pulumi.uat.yaml").unlink()


def _break_yaml(repo: Path) -> None:
    (repo / "Pulumi.uat.yaml").write_text("config: [unclosed\n", encoding="utf-8")


def _unchanged(repo: Path) -> None:
    return None


@pytest.mark.parametrize(
    ("source", "target", "damage", "message"),
    [
        ("staging", "prod", _unchanged, "unknown stack 'staging': choose one of sandbox, dev, uat, prod"),
        ("uat", "production", _unchanged, "unknown stack 'production'"),
        (
            "sandbox",
            "prod",
            _unchanged,
            "sandbox is not promoted to or from: the promotion order is dev -> uat -> prod",
        ),
        ("prod", "uat", _unchanged, "uat does not come after prod in the promotion order"),
        ("uat", "uat", _unchanged, "uat does not come after uat"),
        ("uat", "prod", _drop_pin, "Pulumi.uat.yaml pins no wheel: set mlops-platform:artifact.wheelVersion"),
        ("uat", "prod", _bump_code, "pins wheel 0.3.0 but ml/pyproject.toml builds 0.4.0"),
        ("uat", "prod", _remove_source, "Pulumi.uat.yaml not found"),
        ("uat", "prod", _break_yaml, "Pulumi.uat.yaml is not valid YAML"),
    ],
)
def test_bad_promotions_are_refused_with_exit_code_2_and_a_reason(  # noqa: PLR0917 - parametrized case
    repo: Path, capsys: pytest.CaptureFixture[str], source: str, target: str, damage: object, message: str
) -> None:
    assert callable(damage)
    damage(repo)
    assert main(["--from", source, "--to", target, "--root", str(repo)], keys=KEYS) == EXIT_REFUSED
    assert message in capsys.readouterr().err
    assert (repo / "Pulumi.prod.yaml").read_text(encoding="utf-8") == PROD


def test_a_key_list_without_the_wheel_pin_is_refused(repo: Path) -> None:
    with pytest.raises(PromotionRefusedError, match=r"do not include artifact\.wheelVersion"):
        plan_promotion(repo, "uat", "prod", ("model.margin",))


def test_the_cli_promotes_the_keys_the_settings_model_marks_promotable(repo: Path) -> None:
    assert main(["--from", "uat", "--to", "prod", "--root", str(repo)]) == 0
    after = _config((repo / "Pulumi.prod.yaml").read_text(encoding="utf-8"))
    assert after["mlops-platform:artifact"] == {"wheelVersion": "0.3.0"}
    assert after["mlops-platform:workspace"] == {"sku": "premium", "noPublicIp": True}, "SKUs never move"


@pytest.mark.parametrize("stack_file", sorted(REPO_ROOT.glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_the_repository_stack_files_round_trip_byte_identical(stack_file: Path) -> None:
    """Loading and dumping a real stack file changes no byte, so a promotion rewrites only its keys."""
    text = stack_file.read_text(encoding="utf-8")
    round_trip = round_trip_yaml(text)
    buffer = io.StringIO()
    round_trip.dump(round_trip.load(text), buffer)
    assert buffer.getvalue() == text
