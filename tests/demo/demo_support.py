"""Helpers of the demo and docs tests (a unique module name: several test folders have a conftest)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADDED_PROJECT = ("churn", "classification")  # what the README's add-project block writes
PYTEST = ".venv/bin/python -m pytest -q -p no:randomly"
# What the docs clone runs after lint, once the README's steps added that project: the tests that read
# the list of projects (test_add_project.py says why these) ...
OVER_PROJECTS = (
    "tests/infra tests/stacks/test_projects.py tests/stacks/test_access_invariants.py "
    "tests/stacks/test_wiring.py tests/stacks/test_stack_file_mistakes.py tests/stacks/test_promote.py "
    "tests/policy/test_policy_plans.py"
)
# ... or, for `make test-added-project` (CI's .ci/run, after `make test`), the whole suite, less
# tests/demo, whose runs (the demo, these docs runs) would start again inside the clone.
THE_TESTS = (
    ("add-project: the whole suite", f"{PYTEST} --ignore=tests/demo")
    if os.environ.get("ADDED_PROJECT_SUITE") == "whole"
    else ("add-project: the tests over projects", f"{PYTEST} {OVER_PROJECTS}")
)


@dataclass(frozen=True)
class DemoRuns:
    home: Path
    venvs: Path
    commit: str | None  # the last commit of ml/ when the runs started: what provenance must record
    process: subprocess.Popen[str]

    def wait(self, timeout: float = 900) -> tuple[int, str]:
        output, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, output


@dataclass(frozen=True)
class DocsRuns:
    steps: list[dict[str, str]]  # {"label", "command"}, in the order they run
    results_file: Path
    process: subprocess.Popen[bytes]

    def wait(self, timeout: float = 900) -> list[dict[str, Any]]:
        self.process.wait(timeout=timeout)
        if not self.results_file.exists():
            return []
        results: list[dict[str, Any]] = json.loads(self.results_file.read_text(encoding="utf-8"))
        return results
