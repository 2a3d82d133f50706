"""What the pack ships with: its project file, its own pinned virtualenv, and tables kept in sync."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from policy_schema import has_tags_input

from core.environment import Environment
from policy.context import environment_from
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


# What policy/__main__.py puts on the path of the pack's own virtualenv.
PACK_PATH = (ROOT, ROOT / "ml" / "framework" / "src")
LOAD_RULES = """
import sys
sys.path[:0] = sys.argv[1:]
import policy.registry
ours = sorted(m for m in sys.modules if m.split(".")[0] in {"core", "iris_mlops", "infra", "stacks"})
print(" ".join(ours))
"""


def test_the_rules_load_with_the_standard_library_and_the_bottom_layer_only() -> None:
    """policy/venv has pulumi-policy and nothing of ours: the rules read the platform's facts
    (environments, projects, role ids, OIDC claims) from core, which must import without any
    installed package. `-I -S`: no site-packages, no PYTHONPATH."""
    loaded = subprocess.run(
        [sys.executable, "-I", "-S", "-c", LOAD_RULES, *map(str, PACK_PATH)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    modules = set(loaded.stdout.split())
    assert {"core.environment", "core.github_oidc", "core.azure_roles"} <= modules
    assert modules <= {"core", "iris_mlops", "mlops_framework.vocabulary"} | {
        m for m in modules if m.startswith("core.")
    }


def test_the_pack_reads_the_environments_from_core() -> None:
    """A stack named after an environment is that environment, as core.environment spells it."""
    assert [environment_from(environment.value, {}) for environment in Environment] == list(Environment)
    assert environment_from("preview", {"tags": {"environment": "uat"}}) is Environment.UAT
    assert environment_from("preview", {"tags": {"environment": "staging"}}) is None


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
