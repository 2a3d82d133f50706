"""The URN snapshots' comparison (tests/infra/test_snapshots.py, the bootstrap plan's test): a change is
said as what it does to real resources, with how to record it when it is intended."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from stacks.offline import RecordedResource

RECORD = "UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q -k committed_snapshot tests/infra tests/bootstrap"


def _belongs_to(urn: str, project: str) -> bool:
    """The URN's logical name carries the project's name (`databricks-<project>-...`)."""
    name = urn.rsplit("::", 1)[1]
    return f"-{project}-" in name or name.endswith(f"-{project}")


def snapshot_change(recorded: str, actual: str, projects: Iterable[str]) -> str | None:
    """What differs between the recorded URNs and the planned ones, as a reviewer needs it said;
    None when nothing does. ``projects`` are the stack's ML projects (its `projects` export)."""
    before, after = set(recorded.split()), set(actual.split())
    gone, added = sorted(before - after), sorted(after - before)
    if gone:
        listed = "\n  ".join(gone)
        return (
            f"{len(gone)} URN(s) are gone: `pulumi up` deletes these real resources (a rename replaces "
            f"them):\n  {listed}\nKeep the logical name, or give the renamed resource "
            "`pulumi.ResourceOptions(aliases=[<the old URN>])` so the state moves instead; if the "
            f"deletion is intended, record it: {RECORD}"
        )
    new_projects = {
        project: [urn for urn in added if _belongs_to(urn, project)]
        for project in sorted(projects)
        if not any(_belongs_to(urn, project) for urn in before)
    }
    said = [f"new project {p} adds {len(urns)} resources" for p, urns in new_projects.items() if urns]
    others = sorted(set(added) - {urn for urns in new_projects.values() for urn in urns})
    if others:
        said.append(f"{len(others)} new resource(s):\n  " + "\n  ".join(others))
    if not said:
        return None
    return "; ".join(said) + f"\nNothing real is replaced; record them: {RECORD}"


def compare_snapshot(path: Path, resources: Iterable[RecordedResource], projects: Iterable[str] = ()) -> None:
    """The planned URNs against the recorded ones; with UPDATE_SNAPSHOTS=1, recorded first."""
    actual = "\n".join(sorted(r.urn for r in resources)) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no snapshot yet: record {path.name} with {RECORD}"
    change = snapshot_change(path.read_text(encoding="utf-8"), actual, projects)
    assert change is None, f"{path.name}: {change}"
