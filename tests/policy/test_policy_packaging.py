"""What the pack ships with: its project file, its own pinned virtualenv, and tables kept in sync."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from policy_schema import has_tags_input

from core.environment import Environment
from policy.context import ENVIRONMENTS
from policy.tags import TAGGABLE_TYPES

ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "policy"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+)")
HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


def _pins(path: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, hashes) of a pip requirements file with hashes."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    name = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name = match["name"].lower()
            pins[name] = (match["version"], frozenset())
        elif name and (hashes := HASH.findall(line)):
            version, known = pins[name]
            pins[name] = (version, known | frozenset(hashes))
        elif not line.startswith(" "):
            name = ""
    return pins


def test_project_file_declares_a_python_pack_with_its_own_virtualenv() -> None:
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == "venv"


def test_pack_requirements_are_hash_pinned_like_the_lockfile() -> None:
    pack = _pins(PACK_DIR / "requirements.txt")
    lock = _pins(ROOT / "requirements.lock")
    assert "pulumi-policy" in pack
    for name, (version, hashes) in pack.items():
        assert hashes, f"{name} has no hash"
        assert lock[name] == (version, hashes), f"{name} drifted from requirements.lock"


def test_pack_requirements_name_no_host_or_url() -> None:
    text = (PACK_DIR / "requirements.txt").read_text(encoding="utf-8")
    assert not re.search(r"://|--index-url|--extra-index-url|--find-links|\bgit\+|@ ", text)


def test_pack_environments_are_the_stacks() -> None:
    """The pack cannot import stacks/ at run time, so its copy of the vocabulary is checked here."""
    assert tuple(environment.value for environment in Environment) == ENVIRONMENTS


@pytest.mark.parametrize("resource_type", sorted(TAGGABLE_TYPES))
def test_taggable_table_lists_only_types_with_a_tags_input(resource_type: str) -> None:
    assert has_tags_input(resource_type)


@pytest.mark.parametrize(
    "resource_type",
    [
        "azure-native:authorization:RoleAssignment",
        "azure-native:managedidentity:FederatedIdentityCredential",
        "azure-native:authorization:ManagementLockAtResourceGroupLevel",
        "azure-native:monitor:DiagnosticSetting",
        "azure-native:storage:BlobContainer",
    ],
)
def test_types_without_a_tags_input_stay_out_of_the_table(resource_type: str) -> None:
    assert not has_tags_input(resource_type)
    assert resource_type not in TAGGABLE_TYPES
