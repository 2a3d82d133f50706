"""Provenance recorded on every run: git commit, wheel version, environment, backend, task."""

from __future__ import annotations

import os
import shutil
import subprocess

from iris_mlops import __version__

TAG_PREFIX = "iris_mlops."
COMMIT_ENV_VAR = "IRIS_MLOPS_GIT_COMMIT"  # CI can set it where no checkout exists (Databricks)


def git_commit() -> str | None:
    """The commit from IRIS_MLOPS_GIT_COMMIT, else from the working directory's checkout."""
    if commit := os.environ.get(COMMIT_ENV_VAR):
        return commit
    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def provenance_tags(task: str, env: str, backend: str) -> dict[str, str]:
    tags = {"wheel_version": __version__, "env": env, "backend": backend, "task": task}
    if commit := git_commit():
        tags["git_commit"] = commit
    return {TAG_PREFIX + key: value for key, value in tags.items()}
