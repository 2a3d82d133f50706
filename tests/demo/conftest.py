"""The demo end to end runs as a user runs it (`python -m demo`, twice) in the background from the
start of the session, on the second core, while the other tests run; its test waits at the end."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_support import DemoRuns
from iris_mlops.serving import free_port

from stacks.console import LOG_WIDTH

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The demo's e2e test only waits for the background runs: let everything else go first."""
    waiting = [item for item in items if item.get_closest_marker("e2e") and "tests/demo" in item.nodeid]
    items[:] = [item for item in items if item not in waiting] + waiting


@pytest.fixture(scope="session", autouse=True)
def demo_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoRuns | None]:
    if not any(
        item.get_closest_marker("e2e") and "tests/demo" in item.nodeid for item in request.session.items
    ):
        yield None
        return
    venvs: Path = request.getfixturevalue("job_venvs")
    home = tmp_path_factory.mktemp("demo") / "home"
    demo = [sys.executable, "-m", "demo", f"--home={home}", f"--venvs={venvs}"]
    whole, again = [*demo, f"--port={free_port()}"], [*demo, "--stages=train,approve"]
    # Then the user's "run it again", the stages where it matters: the next challenger meets the gate,
    # and the approval path is shown again (its uat-like model starts from nothing each run).
    # Iris's only: the regression's gate direction on a worse challenger is its own project's test
    # (ml/projects/diabetes/tests, test_the_gate_promotes_a_lower_error_and_never_a_higher_one).
    script = f"import subprocess, sys; sys.exit(subprocess.call({whole!r}) or subprocess.call({again!r}))"
    # The output is a log, LOG_WIDTH wide whatever the caller's COLUMNS: the tests read whole phrases
    # in it, and rich folds table cells differently at other widths (COLUMNS=200 repeated a phrase).
    environ = {**os.environ, "COLUMNS": str(LOG_WIDTH)}
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # The wheel records the last commit that changed its sources (ml/hatch_build.py), not HEAD.
    sources = ["ml", ":(exclude)ml/projects", ":(exclude)ml/template"]
    head = subprocess.run(
        ["git", "log", "-1", "--format=%H", "--", *sources],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    runs = DemoRuns(home, venvs, head.stdout.strip() if head.returncode == 0 else None, process)
    try:
        yield runs
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
