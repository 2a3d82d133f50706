"""Logical names are the state's identity: a rename destroys a real resource, so it must show in review.

The committed ``snapshots/urns-<stack>.txt`` list every URN. After a deliberate rename, update
them with ``UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/infra/test_snapshots.py`` and
commit the diff (add a Pulumi alias if the resource must survive the rename).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.environment import Environment
from stacks.offline import OfflineRun
from stacks.plan import plan_stack

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("environment", list(Environment))
def test_urns_match_the_committed_snapshot(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    actual = "\n".join(sorted(r.urn for r in plans[environment].resources)) + "\n"
    path = SNAPSHOTS / f"urns-{environment}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no snapshot yet: run with UPDATE_SNAPSHOTS=1 to create {path.name}"
    assert actual == path.read_text(encoding="utf-8"), "URNs changed: a rename replaces real resources"


@pytest.mark.parametrize("environment", list(Environment))
def test_urns_after_training_match_the_committed_snapshot(
    trained_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """The endpoint and the monitor exist only after training: their names are API too."""
    actual = "\n".join(sorted(r.urn for r in trained_plans[environment].resources)) + "\n"
    path = SNAPSHOTS / f"urns-{environment}-trained.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"no snapshot yet: run with UPDATE_SNAPSHOTS=1 to create {path.name}"
    assert actual == path.read_text(encoding="utf-8"), "URNs changed: a rename replaces real resources"


def test_planning_twice_gives_identical_inputs(plans: dict[Environment, OfflineRun]) -> None:
    again = plan_stack(Environment.PROD)
    first = {
        r.urn: (r.masked_inputs(), r.dependencies, r.protect, r.options)
        for r in plans[Environment.PROD].resources
    }
    second = {r.urn: (r.masked_inputs(), r.dependencies, r.protect, r.options) for r in again.resources}
    assert first == second
    assert plans[Environment.PROD].exports == again.exports


def _moved_to_the_bootstrap(urn: str) -> bool:
    """The stack's GitHub environment, removed on purpose: the bootstrap manages every GitHub
    environment now, and no environment stack holds a GitHub token (issue 29; docs/ci.md, upgrading)."""
    return "mlops:github:GitHubEnvironment" in urn or "::pulumi:providers:github::" in urn


@pytest.mark.parametrize("trained", [False, True], ids=["new", "trained"])
@pytest.mark.parametrize("environment", list(Environment))
def test_every_single_project_urn_is_still_there_or_aliased_by_exactly_one_resource(
    plans: dict[Environment, OfflineRun],
    trained_plans: dict[Environment, OfflineRun],
    environment: Environment,
    trained: bool,
) -> None:
    """Iris's state moves, nothing is replaced: ``snapshots/single-project/`` holds the URNs of the
    platform before it hosted several projects; each is either planned again or the former URN of
    exactly one planned resource, and no alias names a URN that is itself planned (the engine
    would refuse both)."""
    run = (trained_plans if trained else plans)[environment]
    suffix = "-trained" if trained else ""
    former = set((SNAPSHOTS / "single-project" / f"urns-{environment}{suffix}.txt").read_text().split())
    planned = {r.urn for r in run.resources}
    takers: dict[str, list[str]] = {}
    for resource in run.resources:
        for alias in resource.aliases:
            takers.setdefault(alias, []).append(resource.urn)
    assert not planned & set(takers), "an alias names a URN that is still planned"
    moved = {urn for urn in former - planned if not _moved_to_the_bootstrap(urn)}
    assert moved, "nothing moved: the single-project snapshot no longer describes the past"
    assert sorted(urn for urn in moved if urn not in takers) == [], "replaced, not moved"
    assert {urn: takers[urn] for urn in moved if len(takers[urn]) > 1} == {}, "taken over twice"
