"""Helpers of the demo and docs tests (a unique module name: several test folders have a conftest)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADDED_PROJECT = ("churn", "classification")  # what the README's add-project block writes
PYTEST = ".venv/bin/python -m pytest -q -p no:randomly"
# What the docs clone runs after lint, once the README's steps added that project (`make
# test-added-project` only, test_add_project.py): the whole suite, less tests/demo, whose runs (the
# demo, these docs runs) would start again inside the clone.
THE_TESTS = ("add-project: the whole suite", f"{PYTEST} --ignore=tests/demo")
# Its own limit: a whole run of the suite, which takes over 600 s (run_doc_blocks.py's default) on a
# loaded 2-core machine; and the docs run's, whose other steps take up to ~300 s there.
SUITE_TIMEOUT_SECONDS = 2400
ADDED_PROJECT_RUN_TIMEOUT_SECONDS = SUITE_TIMEOUT_SECONDS + 900


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
    steps: list[dict[str, Any]]  # {"label", "command"[, "timeout"]}, in the order they run
    results_file: Path
    process: subprocess.Popen[bytes]

    def wait(self, timeout: float = 900) -> list[dict[str, Any]]:
        self.process.wait(timeout=timeout)
        if not self.results_file.exists():
            return []
        results: list[dict[str, Any]] = json.loads(self.results_file.read_text(encoding="utf-8"))
        return results
