"""Adding a project keeps CI green, exactly as the README says: its add-project block, followed to
the letter in a fresh clone (the docs test's run, conftest.py), then what its prose says next: the
printed entry pasted into Pulumi.dev.yaml, the snapshot tests' message read and the new resource
names recorded, and then `make lint` and the suite's tests over the projects.

`make test-added-project` (which CI's .ci/run runs after `make test`) runs the whole suite there
instead of that selection (but tests/demo, whose runs would start again inside the clone). Why `make
test` does not run the whole suite again in the clone: its other ~1400 tests do not read the list of
projects (each of them plans or runs a project it names, Iris or diabetes, or none), so running them
a second time tests nothing new and would double `make test`'s time. What does read it is run: `make
lint` (ruff and mypy over every file, the new project's included), the new project's own tests (the
README block runs them), and the tests that plan every stack or iterate over every project of a
stack file or of ml/projects: tests/infra (the four stacks' plans, URN snapshots, jobs, workloads,
identities, contract, what waits for a job), tests/stacks/test_projects.py (per-project invariants),
test_access_invariants.py, test_wiring.py (each project's wheel upload), test_stack_file_mistakes.py
(the project folders listed), test_promote.py (every project's pin), and the policy pack on the
plans.
The run shares the docs test's clone and its already-run README block: a second clone would redo
that block's `make setup`, the project's tests and `make wheel` (tens of seconds).
"""

from __future__ import annotations

import pytest
from demo_support import ADDED_PROJECT, THE_TESTS, DocsRuns


def _step(docs_runs: DocsRuns, label: str) -> dict[str, object]:
    results = {result["label"]: result for result in docs_runs.wait()}
    assert label in results, f"the docs run stopped before {label!r}"
    return results[label]


@pytest.mark.e2e
def test_the_snapshot_tests_say_the_added_project_is_new_and_how_to_record_it(docs_runs: DocsRuns) -> None:
    output = str(_step(docs_runs, "add-project: the snapshots say it")["output"])
    name, _ = ADDED_PROJECT
    assert f"new project {name} adds " in output
    assert "record them: UPDATE_SNAPSHOTS=1" in output
    assert "are gone" not in output, "an added project is not a rename"


@pytest.mark.e2e
@pytest.mark.parametrize("label", ["add-project: recorded", "add-project: make lint", THE_TESTS[0]])
def test_after_the_readmes_steps_lint_and_the_tests_over_projects_are_green(
    docs_runs: DocsRuns, label: str
) -> None:
    step = _step(docs_runs, label)
    assert step["returncode"] == 0, f"`{step['command']}`:\n{str(step['output'])[-3000:]}"
