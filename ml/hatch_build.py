"""Build hooks of every ML project's wheel (Iris's in ml/, each further one in ml/projects/<name>/).

1. The source commit. A Databricks job has no checkout, so `git rev-parse` finds nothing there; the
   wheel has to carry its own provenance. The commit is the last one that changed the wheel's
   sources (the project folder, and the framework for a further project), with `-dirty` when they
   have uncommitted changes, not HEAD: a commit elsewhere in the repository then builds the same
   bytes, so the wheel's content-addressed path on Databricks (infra/artifacts.py) changes only with
   the wheel's source.
2. The framework, for a further project (option `framework`, the path of ml/src/iris_mlops): its
   modules are built into the project's wheel, so a project's job installs exactly one wheel, and
   the framework's runtime dependencies become the wheel's (the metadata hook below), so they have
   one owner, ml/pyproject.toml. docs/ml.md, "Projects", says why.

Hatchling's custom hook interfaces: https://hatch.pypa.io/latest/plugins/build-hook/custom/ and
https://hatch.pypa.io/latest/plugins/metadata-hook/custom/
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

FRAMEWORK_PACKAGE = "iris_mlops"
MEMBER = f"{FRAMEWORK_PACKAGE}/_source_commit.txt"  # read by iris_mlops.provenance.packaged_commit
# The framework's files that belong to Iris's wheel only: its job graph (a project ships its own).
IRIS_ONLY = frozenset({"job_graph.toml"})


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


def source_commit(root: Path, *more: Path, exclude: tuple[str, ...] = ()) -> str | None:
    """The last commit that changed `root` (and `more`) outside `exclude` (folders of `root`),
    `-dirty` when those have uncommitted changes."""
    paths = [".", *(str(path.resolve()) for path in more), *(f":(exclude){folder}" for folder in exclude)]
    commit = _git(root, "log", "-1", "--format=%H", "--", *paths)
    if not commit:
        return None
    return f"{commit}-dirty" if _git(root, "status", "--porcelain", "--", *paths) else commit


def framework_files(framework: Path) -> dict[str, str]:
    """Source file -> wheel member for every framework file a project's wheel carries."""
    members = {}
    for path in sorted(framework.rglob("*")):
        relative = path.relative_to(framework)
        if not path.is_file() or "__pycache__" in relative.parts or path.suffix in {".pyc", ".pyo"}:
            continue
        if str(relative) in IRIS_ONLY or path.name.startswith("_source_commit"):
            continue
        members[str(path)] = f"{FRAMEWORK_PACKAGE}/{relative.as_posix()}"
    return members


class SourceCommitHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install reads the checkout (and the framework's own) at run time
        root = Path(self.root)
        framework = self.config.get("framework")
        sources = [root / framework] if framework else []
        for source in sources:
            build_data["force_include"].update(framework_files(source.resolve()))
        # Iris's ml/ holds the other projects and the scaffold's template: not its sources.
        commit = source_commit(root, *sources, exclude=tuple(self.config.get("exclude", ())))
        if commit is None:
            return
        self._scratch = Path(tempfile.mkdtemp(prefix="mlops-build-"))
        written = self._scratch / "source_commit.txt"
        written.write_text(commit + "\n", encoding="utf-8")
        written.chmod(0o644)  # the same mode on every machine: the build stays reproducible
        build_data["force_include"][str(written)] = MEMBER

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


class FrameworkDependenciesHook(MetadataHookInterface):
    """A project's `dependencies` and `optional-dependencies` (both `dynamic`): the framework's
    (ml/pyproject.toml, option `framework-project`), plus the project's own `extra-dependencies`."""

    PLUGIN_NAME = "custom"

    def update(self, metadata: dict[str, Any]) -> None:
        pyproject = Path(self.root, self.config["framework-project"]).resolve()
        framework = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        metadata["dependencies"] = [*framework["dependencies"], *self.config.get("extra-dependencies", [])]
        metadata["optional-dependencies"] = dict(framework.get("optional-dependencies", {}))
