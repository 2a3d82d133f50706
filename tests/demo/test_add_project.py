"""Adding a project keeps CI green, exactly as the README says: its add-project block, followed to
the letter in a fresh clone (the docs test's run, conftest.py), then what its prose says next: the
printed entry pasted into Pulumi.dev.yaml, the snapshot tests' message read and the new resource
names recorded, and then `make lint` and the whole suite in that clone (but tests/demo, whose runs
would start again inside the clone).

These run under `make test-added-project` only (marker `added_project`; CI's .ci/run runs it after
`make test`): the sequence takes minutes, most of it a second run of the suite. `make test` runs the
README's add-project block itself in the docs clone (test_docs.py: the project is written, set up,
passes its own tests, builds its wheel, and is removed again), and covers the rest piecewise: the
snapshot message for an added project (tests/infra/test_snapshots.py), a third project planned from
a stack file (tests/stacks/test_projects.py), the written project under ruff for every kind and its
wheel, jobs and tests for the other kind (tests/stacks/test_new_project.py).
The run shares the docs test's clone and its already-run README block: a second clone would redo
that block's `make setup`, the project's tests and `make wheel` (tens of seconds).
"""

from __future__ import annotations

import pytest
from demo_support import ADDED_PROJECT, ADDED_PROJECT_RUN_TIMEOUT_SECONDS, THE_TESTS, DocsRuns


def _step(docs_runs: DocsRuns, label: str) -> dict[str, object]:
    results = {result["label"]: result for result in docs_runs.wait(ADDED_PROJECT_RUN_TIMEOUT_SECONDS)}
    assert label in results, f"the docs run stopped before {label!r}"
    return results[label]


@pytest.mark.e2e
@pytest.mark.added_project
def test_the_snapshot_tests_say_the_added_project_is_new_and_how_to_record_it(docs_runs: DocsRuns) -> None:
    output = str(_step(docs_runs, "add-project: the snapshots say it")["output"])
    name, _ = ADDED_PROJECT
    assert f"new project {name} adds " in output
    assert "record them: UPDATE_SNAPSHOTS=1" in output
    assert "are gone" not in output, "an added project is not a rename"


@pytest.mark.e2e
@pytest.mark.added_project
@pytest.mark.parametrize("label", ["add-project: recorded", "add-project: make lint", THE_TESTS[0]])
def test_after_the_readmes_steps_lint_and_the_whole_suite_are_green(docs_runs: DocsRuns, label: str) -> None:
    step = _step(docs_runs, label)
    assert step["returncode"] == 0, f"`{step['command']}`:\n{str(step['output'])[-3000:]}"
