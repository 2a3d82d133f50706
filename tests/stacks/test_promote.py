"""`make promote`: only promotable keys move, everything else stays byte-identical, bad input is refused.

Every test works on temporary copies; the repository's own stack files are never written.
"""

from __future__ import annotations

import difflib
import hashlib
import io
from pathlib import Path

import pytest
import yaml

from stacks.promote import (
    EXIT_REFUSED,
    WHEEL_SHA_KEY,
    WHEEL_VERSION_KEY,
    PromotionRefusedError,
    main,
    plan_promotion,
    promotion_pair,
)
from stacks.yaml_round_trip import round_trip_yaml

KEYS = ("projects[].primaryMetric", "projects[].margin", WHEEL_VERSION_KEY)
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
  mlops-platform:projects:
    - name: iris
      path: ml
      primaryMetric: f1_macro   # what the gate compares
      margin: 0.02
      wheelVersion: "0.3.0"
    - name: diabetes
      path: ml/projects/diabetes
      primaryMetric: rmse
      wheelVersion: "1.2.0"
    - name: wine   # tried in uat, not hosted in prod
      path: ml/projects/wine
      wheelVersion: "0.1.0"
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
  mlops-platform:projects:
    - name: diabetes
      path: ml/projects/diabetes
      primaryMetric: mae
      wheelVersion: "1.1.0"
    - name: iris
      path: ml
      primaryMetric: accuracy
      margin: 0.01  # tightened after the 0.2 review
      wheelVersion: "0.2.0"   # pinned by make promote
  # Promotion never touches what follows.
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
    for folder, version in (
        ("ml", "0.3.0"),
        ("ml/projects/diabetes", "1.2.0"),
        ("ml/projects/wine", "0.1.0"),
    ):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "pyproject.toml").write_text(PYPROJECT.format(version=version), encoding="utf-8")
    for name, version in WHEELS.items():  # what `make wheel` left in dist/ (bytes stand in for a wheel)
        (tmp_path / "dist" / name).mkdir(parents=True)
        (tmp_path / "dist" / name / f"{name}_mlops-{version}-py3-none-any.whl").write_bytes(name.encode())
    return tmp_path


WHEELS = {"iris": "0.3.0", "diabetes": "1.2.0"}


def _projects(config: dict[str, object]) -> dict[str, dict[str, object]]:
    entries = config["mlops-platform:projects"]
    assert isinstance(entries, list)
    return {entry["name"]: entry for entry in entries}


def _config(text: str) -> dict[str, object]:
    config: dict[str, object] = yaml.safe_load(text)["config"]
    return config


def test_promotable_keys_take_the_source_values(repo: Path) -> None:
    """Each project carries its own pin and gate: entries are matched by name, not position."""
    promotion = plan_promotion(repo, "uat", "prod", KEYS)
    after = _projects(_config(promotion.after))
    assert after["iris"] == {
        "name": "iris", "path": "ml", "primaryMetric": "f1_macro", "margin": 0.02, "wheelVersion": "0.3.0"
    }  # fmt: skip
    assert after["diabetes"] == {
        "name": "diabetes", "path": "ml/projects/diabetes", "primaryMetric": "rmse", "wheelVersion": "1.2.0"
    }  # fmt: skip
    assert set(promotion.changed_keys) == {
        "projects[iris].primaryMetric", "projects[iris].margin", "projects[iris].wheelVersion",
        "projects[diabetes].primaryMetric", "projects[diabetes].wheelVersion",
    }  # fmt: skip


def test_a_project_the_target_does_not_host_is_named_and_not_added(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    promotion = plan_promotion(repo, "uat", "prod", KEYS)
    assert promotion.not_in_target == ("wine",)
    assert set(_projects(_config(promotion.after))) == {"iris", "diabetes"}
    assert main(["--from", "uat", "--to", "prod", "--root", str(repo)], keys=KEYS) == 0
    assert "not promoted, Pulumi.prod.yaml does not list them: wine" in capsys.readouterr().out


def test_environment_specific_settings_do_not_move(repo: Path) -> None:
    before, after = _config(PROD), _config(plan_promotion(repo, "uat", "prod", KEYS).after)
    for section in ("azure-native:location", "mlops-platform:workspace", "mlops-platform:github"):
        assert after[section] == before[section]
    document = yaml.safe_load(plan_promotion(repo, "uat", "prod", KEYS).after)
    provider = document["secretsprovider"]  # pragma: allowlist secret
    assert provider == "azurekeyvault://kv-mlops-prod.vault.azure.net/keys/pulumi"


def test_every_line_but_the_promoted_values_stays_byte_identical(repo: Path) -> None:
    after = plan_promotion(repo, "uat", "prod", KEYS).after
    changed = [
        line for line in difflib.ndiff(PROD.splitlines(), after.splitlines()) if line.startswith(("- ", "+ "))
    ]
    assert changed
    assert all(any(leaf in line for leaf in PROMOTED_LEAVES) for line in changed), changed


def test_comments_order_and_quoting_survive(repo: Path) -> None:
    after = plan_promotion(repo, "uat", "prod", KEYS).after
    assert "      margin: 0.02  # tightened after the 0.2 review" in after
    assert '      wheelVersion: "0.3.0"   # pinned by make promote' in after
    assert "  # Production SKUs, network and reviewers are prod's own" in after
    assert (
        '      wheelVersion: "0.3.0"   # pinned by make promote\n  # Promotion never touches what follows.\n'
        in after
    )


def test_a_pin_added_to_the_last_entry_goes_above_the_next_sections_comment(repo: Path) -> None:
    """ruamel keeps a comment line after a mapping on its last key: the new key goes before it."""
    unpinned = PROD.replace('      wheelVersion: "0.2.0"   # pinned by make promote\n', "")
    (repo / "Pulumi.prod.yaml").write_text(unpinned, encoding="utf-8")
    after = plan_promotion(repo, "uat", "prod", KEYS).after
    assert (
        "      margin: 0.02  # tightened after the 0.2 review\n"
        '      wheelVersion: "0.3.0"\n'
        "  # Promotion never touches what follows.\n"
    ) in after
    assert list(_config(after)) == list(_config(PROD))


def test_promoting_twice_changes_nothing(repo: Path) -> None:
    assert main(["--from", "uat", "--to", "prod", "--apply", "--root", str(repo)], keys=KEYS) == 0
    again = plan_promotion(repo, "uat", "prod", KEYS)
    assert again.changed_keys == ()
    assert again.after == again.before


def test_a_key_the_source_leaves_to_its_default_is_removed_from_the_target(repo: Path) -> None:
    (repo / "Pulumi.uat.yaml").write_text(UAT.replace("      margin: 0.02\n", ""), encoding="utf-8")
    after = _projects(_config(plan_promotion(repo, "uat", "prod", KEYS).after))
    assert "margin" not in after["iris"]
    assert after["iris"]["primaryMetric"] == "f1_macro"


def test_by_default_a_dry_run_prints_the_diff_and_writes_nothing(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--from", "uat", "--to", "prod", "--root", str(repo)], keys=KEYS) == 0
    out = capsys.readouterr().out
    assert '+      wheelVersion: "0.3.0"' in out
    assert '-      wheelVersion: "0.2.0"' in out
    assert "dry run: Pulumi.prod.yaml not written" in out
    assert "make promote FROM=uat TO=prod APPLY=1" in out
    assert (repo / "Pulumi.prod.yaml").read_text(encoding="utf-8") == PROD


def test_promotion_writes_the_planned_file_and_leaves_the_source_alone(repo: Path) -> None:
    planned = plan_promotion(repo, "uat", "prod", KEYS).after
    assert main(["--from", "uat", "--to", "prod", "--apply", "--root", str(repo)], keys=KEYS) == 0
    assert (repo / "Pulumi.prod.yaml").read_text(encoding="utf-8") == planned
    assert (repo / "Pulumi.uat.yaml").read_text(encoding="utf-8") == UAT


@pytest.mark.parametrize(("source", "target"), [("dev", "uat"), ("uat", "prod"), ("dev", "prod")])
def test_later_stacks_of_the_promotion_order_are_accepted(source: str, target: str) -> None:
    assert [s.value for s in promotion_pair(source, target)] == [source, target]


def _drop_pin(repo: Path) -> None:
    (repo / "Pulumi.uat.yaml").write_text(UAT.replace('      wheelVersion: "1.2.0"\n', ""), encoding="utf-8")


def _bump_code(repo: Path) -> None:
    (repo / "ml" / "pyproject.toml").write_text(PYPROJECT.format(version="0.4.0"), encoding="utf-8")


def _host_nothing_in_common(repo: Path) -> None:
    text = (
        UAT.split("  mlops-platform:projects:", maxsplit=1)[0]
        + "  mlops-platform:projects:\n    - name: wine\n      path: x\n"
    )
    (repo / "Pulumi.uat.yaml").write_text(text, encoding="utf-8")


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
        (
            "uat",
            "prod",
            _drop_pin,
            "pins no wheel for project diabetes: set mlops-platform:projects[<name>].wheelVersion",
        ),
        ("uat", "prod", _bump_code, "pins wheel 0.3.0 for project iris but ml/pyproject.toml builds 0.4.0"),
        ("uat", "prod", _host_nothing_in_common, "no project is listed in both"),
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
    with pytest.raises(PromotionRefusedError, match=r"do not include projects\[\]\.wheelVersion"):
        plan_promotion(repo, "uat", "prod", ("projects[].margin",))


def test_a_key_outside_the_projects_is_refused(repo: Path) -> None:
    with pytest.raises(
        PromotionRefusedError, match=r"only project settings .* not \['model.requireApproval'\]"
    ):
        plan_promotion(repo, "uat", "prod", (WHEEL_VERSION_KEY, "model.requireApproval"))


def test_the_cli_promotes_the_keys_the_settings_model_marks_promotable(repo: Path) -> None:
    assert main(["--from", "uat", "--to", "prod", "--apply", "--root", str(repo)]) == 0
    after = _config((repo / "Pulumi.prod.yaml").read_text(encoding="utf-8"))
    assert {name: p["wheelVersion"] for name, p in _projects(after).items()} == {
        "iris": "0.3.0",
        "diabetes": "1.2.0",
    }
    assert after["mlops-platform:workspace"] == {"sku": "premium", "noPublicIp": True}, "SKUs never move"
    # Issue 29, finding 7: the bytes, not only the version (the built wheel, the source's commit).
    assert {name: p["wheelSha256"] for name, p in _projects(after).items()} == {
        name: hashlib.sha256(name.encode()).hexdigest() for name in WHEELS
    }


@pytest.mark.parametrize(
    ("built", "complaint"),
    [("0.4.0", "not the 0.3.0 wheel uat runs"), (None, "holds no wheel")],
    ids=["another version built", "nothing built"],
)
def test_the_sha_pin_needs_the_sources_wheel_built(repo: Path, built: str | None, complaint: str) -> None:
    for wheel in (repo / "dist" / "iris").glob("*.whl"):
        wheel.unlink()
    if built:
        (repo / "dist" / "iris" / f"iris_mlops-{built}-py3-none-any.whl").write_bytes(b"newer")
    with pytest.raises(PromotionRefusedError, match=complaint):
        plan_promotion(repo, "uat", "prod", (WHEEL_VERSION_KEY, WHEEL_SHA_KEY))


def test_a_build_other_than_the_sha_the_source_pins_is_refused(repo: Path) -> None:
    uat = repo / "Pulumi.uat.yaml"
    pin = f'wheelVersion: "0.3.0"\n      wheelSha256: "{"0" * 64}"'
    uat.write_text(uat.read_text(encoding="utf-8").replace('wheelVersion: "0.3.0"', pin), encoding="utf-8")
    with pytest.raises(PromotionRefusedError, match="build on the commit uat deployed"):
        plan_promotion(repo, "uat", "prod", (WHEEL_VERSION_KEY, WHEEL_SHA_KEY))


@pytest.mark.parametrize("stack_file", sorted(REPO_ROOT.glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_the_repository_stack_files_round_trip_byte_identical(stack_file: Path) -> None:
    """Loading and dumping a real stack file changes no byte, so a promotion rewrites only its keys."""
    text = stack_file.read_text(encoding="utf-8")
    round_trip = round_trip_yaml(text)
    buffer = io.StringIO()
    round_trip.dump(round_trip.load(text), buffer)
    assert buffer.getvalue() == text
