"""Logical names are the state's identity: a rename destroys a real resource, so it must show in review.

The committed ``snapshots/urns-<stack>.txt`` list every URN. A change is told apart by what it
does to real resources: a project added to a stack only adds URNs under its own name (nothing real
is touched; record them), any other addition is new resources (record them), and a URN that is
gone is a resource Pulumi deletes (a rename: keep the name or add a Pulumi alias). Record with
``UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest tests/infra/test_snapshots.py`` and commit the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from urn_snapshots import compare_snapshot, snapshot_change

from core.environment import Environment
from stacks.deployer_move import left_urns
from stacks.offline import OfflineRun
from stacks.plan import plan_stack

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("environment", list(Environment))
def test_urns_match_the_committed_snapshot(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    run = plans[environment]
    compare_snapshot(SNAPSHOTS / f"urns-{environment}.txt", run.resources, run.exports["projects"])


@pytest.mark.parametrize("environment", list(Environment))
def test_urns_after_training_match_the_committed_snapshot(
    trained_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """The endpoint and the monitor exist only after training: their names are API too."""
    run = trained_plans[environment]
    compare_snapshot(SNAPSHOTS / f"urns-{environment}-trained.txt", run.resources, run.exports["projects"])


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
    """Removed on purpose: the stack's GitHub environment (the bootstrap manages every GitHub
    environment now, and no environment stack holds a GitHub token: issue 29; docs/ci.md, upgrading),
    and the deployer (moved, retained, imported: issue 25; stacks/deployer_move.py)."""
    stack = urn.split("::", 1)[0].removeprefix("urn:pulumi:")
    return (
        "mlops:github:GitHubEnvironment" in urn
        or "::pulumi:providers:github::" in urn
        or urn in left_urns(stack)
    )


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


def _recorded(environment: str = "dev") -> str:
    return (SNAPSHOTS / f"urns-{environment}.txt").read_text(encoding="utf-8")


def test_an_added_project_is_said_as_an_addition_with_how_to_record_it() -> None:
    """A project added to a stack file adds URNs under its own name only: no real resource changes."""
    recorded = _recorded()
    added = [urn.replace("diabetes", "fraud") for urn in recorded.split() if "diabetes" in urn]
    change = snapshot_change(recorded, "\n".join([*recorded.split(), *added]), ["iris", "diabetes", "fraud"])
    assert change is not None
    assert change.startswith(f"new project fraud adds {len(added)} resources\n")
    assert "Nothing real is replaced" in change
    assert "UPDATE_SNAPSHOTS=1" in change
    assert "alias" not in change


def test_a_renamed_or_removed_urn_fails_with_the_alias_advice() -> None:
    """Renaming a project (or any logical name) deletes what the old URNs name: never an addition."""
    recorded = _recorded()
    renamed = recorded.replace("-diabetes", "-diabetic")
    change = snapshot_change(recorded, renamed, ["iris", "diabetic"])
    assert change is not None
    gone = sum("-diabetes" in urn for urn in recorded.split())
    assert change.startswith(f"{gone} URN(s) are gone: `pulumi up` deletes these real resources")
    assert "aliases=[<the old URN>]" in change
    assert "new project" not in change


def test_a_new_resource_of_an_existing_project_is_named() -> None:
    recorded = _recorded()
    extra = recorded.split()[0].rsplit("::", 1)[0] + "::databricks-iris-extra"
    change = snapshot_change(recorded, recorded + extra + "\n", ["iris", "diabetes"])
    assert change is not None
    assert change.startswith(f"1 new resource(s):\n  {extra}\n")
    assert snapshot_change(recorded, recorded, ["iris", "diabetes"]) is None
