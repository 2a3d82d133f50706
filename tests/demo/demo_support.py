"""Helpers of the demo tests (a unique module name: several test folders have a conftest)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoRuns:
    home: Path
    venvs: Path
    commit: str | None  # the last commit of ml/ when the runs started: what provenance must record
    process: subprocess.Popen[str]

    def wait(self, timeout: float = 900) -> tuple[int, str]:
        output, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, output
