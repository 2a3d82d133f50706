"""Provenance recorded on every run: git commit, wheel version, environment, backend, task.

Each project's wheel carries its own copy of the framework with the commit of its own build
(ml/hatch_build.py), so `packaged_commit` names the source of the wheel this copy came in.

Tag keys are snake_case without dots: Unity Catalog does not allow `.` in tag keys (docs: "Apply
tags to Unity Catalog securable objects", constraints), and model versions carry these tags too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib.resources import files

COMMIT_ENV_VAR = "MLOPS_GIT_COMMIT"  # an explicit override, e.g. from CI
# Written by ml/hatch_build.py at build time: a Databricks job has no checkout to ask.
PACKAGED_COMMIT_RESOURCE = "_source_commit.txt"


def packaged_commit() -> str | None:
    """The commit the installed wheel was built from (None in an editable install)."""
    resource = files(__name__.rpartition(".")[0]).joinpath(PACKAGED_COMMIT_RESOURCE)  # this copy's package
    if not resource.is_file():
        return None
    return resource.read_text(encoding="utf-8").strip() or None


def checkout_commit() -> str | None:
    """HEAD of the working directory's checkout, if there is one."""
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


def git_commit() -> str | None:
    """MLOPS_GIT_COMMIT, else the commit inside the wheel, else the checkout's HEAD."""
    return os.environ.get(COMMIT_ENV_VAR) or packaged_commit() or checkout_commit()


@dataclass(frozen=True)
class RunTags:
    """The keys of the tags the framework writes on a project's runs, model versions and tables,
    named after the project's package (ProjectSpec.tags: `iris_mlops_task`, `diabetes_mlops_task`),
    never after another project. Iris's are the keys its runs and versions carried before the
    framework had a name of its own, so the gate, the recovery and people's searches read its
    history on."""

    prefix: str

    def key(self, name: str) -> str:
        return self.prefix + name

    @property
    def task(self) -> str:
        return self.key("task")

    @property
    def process(self) -> str:  # "<host>:<pid>:<start time>" of the process that opened the run
        return self.key("process")

    @property
    def interrupted(self) -> str:
        return self.key("interrupted")

    @property
    def incomplete(self) -> str:
        return self.key("incomplete")


def provenance_tags(keys: RunTags, task: str, env: str, backend: str, wheel_version: str) -> dict[str, str]:
    """`wheel_version` is the running project's wheel (ProjectSpec.version)."""
    tags = {"wheel_version": wheel_version, "env": env, "backend": backend, "task": task}
    if commit := git_commit():
        tags["git_commit"] = commit
    return {keys.key(name): value for name, value in tags.items()}
