"""The demo end to end runs as a user runs it (`python -m demo`, twice) in the background from the
start of the session, on the second core, while the other tests run; its test waits at the end. So
do the docs' offline blocks, in a fresh clone (test_docs.py), and, under `make test-added-project`
only (marker `added_project`, test_add_project.py), the README's add-a-project steps after them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clone_setup import fresh_clone, link_venv, tool_dir
from demo_support import ADDED_PROJECT, PYTEST, SUITE_TIMEOUT_SECONDS, THE_TESTS, DemoRuns, DocsRuns
from doc_blocks import offline_blocks
from mlops_framework.serving import free_port
from urn_snapshots import RECORD

from stacks.console import LOG_WIDTH

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The demo's e2e test only waits for the background runs: let everything else go first."""
    waiting = [item for item in items if item.get_closest_marker("e2e") and "tests/demo" in item.nodeid]
    items[:] = [item for item in items if item not in waiting] + waiting


def _selected(session: pytest.Session, *modules: str) -> bool:
    """Whether an end-to-end test of one of these modules (tests/demo) is in the session."""
    files = tuple(f"tests/demo/{module}.py::" for module in modules)
    return any(item.get_closest_marker("e2e") and item.nodeid.startswith(files) for item in session.items)


@pytest.fixture(scope="session", autouse=True)
def demo_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoRuns | None]:
    if not _selected(request.session, "test_demo", "test_docs"):
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
    # Iris's wheel records the last commit that changed its sources (its folder and the framework:
    # ml/hatch_build.py), not HEAD.
    sources = ["ml/projects/iris", "ml/framework"]
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


# After the docs' own blocks, under `make test-added-project` only (test_add_project.py): the
# README's "then" for the project its sequence added (its entry in dev's stack file; the snapshot
# tests name its resources; recorded), then lint and the whole suite in the clone.
ADD_PROJECT_STEPS = (
    ("add-project: the stack entry", f"PYTHONPATH=. .venv/bin/python {HERE / 'paste_stack_entry.py'} "
     f"Pulumi.dev.yaml {' '.join(ADDED_PROJECT)}"),
    # The new environment's plans only: enough to read the message (the trained ones say the same).
    ("add-project: the snapshots say it", f"{PYTEST} -k urns_match tests/infra/test_snapshots.py || true"),
    ("add-project: recorded", RECORD),  # the command the message gives, as the README quotes it
    ("add-project: make lint", "make lint"),
    THE_TESTS,
)  # fmt: skip
# Last, in both: the project the README's block added is removed again, and `make setup` must take
# its console scripts out of .venv.
A_REMOVED_PROJECT = ("a removed project", "rm -rf ml/projects/churn && make setup && ls .venv/bin")


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system
        shutil.copy2(source, destination)


@pytest.fixture(scope="session", autouse=True)
def docs_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DocsRuns | None]:
    """The offline blocks of README.md and docs/*.md, run in a fresh clone in the background from
    the start of the session (run_doc_blocks.py); the docs tests wait for it at the end."""
    if not _selected(request.session, "test_docs", "test_add_project"):
        yield None
        return
    work = tmp_path_factory.mktemp("docs")
    clone = fresh_clone(ROOT, work / "clone")
    link_venv(clone, ROOT / ".venv")
    # mypy's cache from the suite's own `make lint` (if it ran), hard-linked (~0.5 GB): mypy checks
    # a cached module's source hash when its mtime differs, so only what the steps change is
    # analysed again, and it replaces a cache file (write aside, rename), never writes into one.
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", clone / ".mypy_cache", copy_function=_link_or_copy)
    # pre-commit reads git's file list; the wheels and the tests read the sources' last commit.
    committer = ["-c", "user.name=docs test", "-c", "user.email=docs-test@example.invalid"]
    commit = ["git", *committer, "commit", "-qm", "clone"]
    for command in (["git", "init", "-q"], ["git", "add", "-A"], commit):
        subprocess.run(command, cwd=clone, check=True)
    steps: list[dict[str, Any]] = [
        {"label": block.label, "command": command.text}
        for block in offline_blocks(clone)
        for command in block.commands
    ]
    added = ADD_PROJECT_STEPS if _selected(request.session, "test_add_project") else ()
    after = (*added, A_REMOVED_PROJECT)
    steps += [{"label": label, "command": command} for label, command in after]
    for step in steps:
        if step["label"] == THE_TESTS[0]:
            step["timeout"] = SUITE_TIMEOUT_SECONDS
    steps_file, results_file = work / "steps.json", work / "results.json"
    steps_file.write_text(json.dumps(steps), encoding="utf-8")
    tools = tool_dir(ROOT, work / "tools")
    environ = {
        **os.environ,
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "COLUMNS": str(LOG_WIDTH),
        "PRE_COMMIT_HOME": str(work / "pre-commit"),
        "OPENBLAS_NUM_THREADS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(HERE / "run_doc_blocks.py"), str(clone), str(steps_file), str(results_file)],
        cwd=clone,
        env=environ,
    )
    runs = DocsRuns(steps, results_file, process)
    try:
        yield runs
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
