"""The repository stands alone: no file points to a document outside it, and every reference to
a known trap names an entry of docs/traps.md."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from core.pulumi_project import PROJECT

ROOT = Path(__file__).resolve().parent.parent
TRAPS = ROOT / "docs" / "traps.md"
OUTSIDE = re.compile(r"design\.md|\btraps? [0-9]+", re.IGNORECASE)
TRAP_REFERENCE = re.compile(r"docs/traps\.md: ([a-z-]+(?:, [a-z-]+)*)")


def tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    files = [ROOT / name for name in names if (ROOT / name).is_file()]
    return [path for path in files if path != TRAPS and b"\0" not in path.read_bytes()[:1024]]


FILES = tracked_text_files()


def test_nothing_points_to_documents_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in FILES
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line) and path.name != Path(__file__).name
    ]
    assert not found


def test_every_trap_reference_names_an_entry_of_docs_traps() -> None:
    entries = set(re.findall(r"^## ([a-z-]+)$", TRAPS.read_text(encoding="utf-8"), flags=re.MULTILINE))
    referenced = {
        name
        for path in FILES
        for match in TRAP_REFERENCE.finditer(path.read_text(encoding="utf-8", errors="replace"))
        for name in match.group(1).split(", ")
    }
    assert referenced, "the references are spelled `docs/traps.md: <name>`"
    assert referenced <= entries, sorted(referenced - entries)


def test_the_project_name_is_pulumi_yamls() -> None:
    assert yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))["name"] == PROJECT
