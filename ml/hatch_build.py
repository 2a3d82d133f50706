"""Build hook: write into the wheel the git commit its source comes from.

A Databricks job has no checkout, so `git rev-parse` finds nothing there; the wheel has to carry
its own provenance. The commit is the last one that changed `ml/` (with `-dirty` when `ml/` has
uncommitted changes), not HEAD: a commit elsewhere in the repository then builds the same bytes,
so the wheel's content-addressed path on Databricks (infra/artifacts.py) changes only with the
wheel's source. Hatchling's custom build hook interface:
https://hatch.pypa.io/latest/plugins/build-hook/custom/
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MEMBER = "iris_mlops/_source_commit.txt"  # read by iris_mlops.provenance.packaged_commit


def _git(root: Path, *args: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [git, "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def source_commit(root: Path) -> str | None:
    """The last commit that changed `root`, `-dirty` when `root` has uncommitted changes."""
    commit = _git(root, "log", "-1", "--format=%H", "--", ".")
    if not commit:
        return None
    return f"{commit}-dirty" if _git(root, "status", "--porcelain", "--", ".") else commit


class SourceCommitHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install reads the checkout at run time instead
        commit = source_commit(Path(self.root))
        if commit is None:
            return
        self._scratch = Path(tempfile.mkdtemp(prefix="iris-mlops-build-"))
        written = self._scratch / "source_commit.txt"
        written.write_text(commit + "\n", encoding="utf-8")
        written.chmod(0o644)  # the same mode on every machine: the build stays reproducible
        build_data["force_include"][str(written)] = MEMBER

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
