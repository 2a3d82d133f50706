"""Build hooks of every ML project's wheel (each project is a folder ml/projects/<name>/).

1. The framework (option `framework`, the path of ml/framework/src/mlops_framework) is vendored
   into the project's own package, as `<package>._framework` (job_graph.vendored_framework), and
   the project's own modules import it under that name in the wheel (their `mlops_framework`
   imports are rewritten). So a project's job installs exactly one wheel, and no two project wheels
   hold the same importable module: two projects' wheels install side by side into one
   environment. The framework imports itself relatively only, so the copy works under any name.
   Its runtime dependencies become the wheel's (the metadata hook below), so they have one owner,
   ml/framework/pyproject.toml. docs/ml.md, "Projects", says why.
2. The source commit. A Databricks job has no checkout, so `git rev-parse` finds nothing there; the
   wheel has to carry its own provenance, `<package>/_framework/_source_commit.txt` (read by the
   copy's provenance.packaged_commit). The commit is the last one that changed the wheel's sources
   (the project folder and the framework), with `-dirty` when they have uncommitted changes, not
   HEAD: a commit elsewhere in the repository then builds the same bytes, so the wheel's
   content-addressed path on Databricks (infra/artifacts.py) changes only with the wheel's source.

A file the hook force-includes from outside the project replaces the project's file of the same
wheel path (hatchling's BuilderConfig.set_build_data reserves force-include targets). Hatchling's
custom hook interfaces: https://hatch.pypa.io/latest/plugins/build-hook/custom/ and
https://hatch.pypa.io/latest/plugins/metadata-hook/custom/
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.metadata.plugin.interface import MetadataHookInterface

FRAMEWORK_PACKAGE = "mlops_framework"
COMMIT_FILE = "_source_commit.txt"  # provenance.PACKAGED_COMMIT_RESOURCE
_FRAMEWORK_IMPORT = re.compile(rf"^(\s*)(from|import) {FRAMEWORK_PACKAGE}\b", re.MULTILINE)


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


def source_commit(root: Path, *more: Path) -> str | None:
    """The last commit that changed `root` (and `more`), `-dirty` when those have uncommitted changes."""
    paths = [".", *(str(path.resolve()) for path in more)]
    commit = _git(root, "log", "-1", "--format=%H", "--", *paths)
    if not commit:
        return None
    return f"{commit}-dirty" if _git(root, "status", "--porcelain", "--", *paths) else commit


def job_graph_contract(framework: Path) -> ModuleType:
    """The framework's job-graph contract (stdlib only), loaded from its file: it owns where a
    wheel vendors the framework."""
    spec = importlib.util.spec_from_file_location("_mlops_job_graph_contract", framework / "job_graph.py")
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {framework / 'job_graph.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def framework_files(framework: Path, vendored: str) -> dict[str, str]:
    """Source file -> wheel member for every framework file a project's wheel carries, under the
    package path `vendored` (e.g. iris_mlops/_framework). A framework module importing itself by
    name would break the copy: refused."""
    members = {}
    for path in sorted(framework.rglob("*")):
        relative = path.relative_to(framework)
        if not path.is_file() or "__pycache__" in relative.parts or path.suffix in {".pyc", ".pyo"}:
            continue
        if path.name.startswith("_source_commit"):
            continue
        if path.suffix == ".py" and _FRAMEWORK_IMPORT.search(path.read_text(encoding="utf-8")):
            raise RuntimeError(
                f"{path} imports {FRAMEWORK_PACKAGE} by name; the framework imports itself relatively"
            )
        members[str(path)] = f"{vendored}/{relative.as_posix()}"
    return members


def rewritten_imports(source: str, vendored_module: str) -> str:
    """A project module's `mlops_framework` imports, pointed at the wheel's own copy."""
    return _FRAMEWORK_IMPORT.sub(lambda m: f"{m[1]}{m[2]} {vendored_module}", source)


class SourceCommitHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install imports the framework's own editable package
        root = Path(self.root)
        framework = (root / self.config["framework"]).resolve()
        contract = job_graph_contract(framework)
        package = self.metadata.name.replace("-", "_")
        vendored_module = contract.vendored_framework(package)
        vendored = vendored_module.replace(".", "/")
        self._scratch = Path(tempfile.mkdtemp(prefix="mlops-build-"))
        build_data["force_include"].update(framework_files(framework, vendored))
        for path in sorted((root / "src" / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if _FRAMEWORK_IMPORT.search(text):
                member = f"{package}/{path.relative_to(root / 'src' / package).as_posix()}"
                build_data["force_include"][
                    str(self._write(member, rewritten_imports(text, vendored_module)))
                ] = member
        commit = source_commit(root, framework)
        if commit is not None:
            build_data["force_include"][str(self._write("commit", commit + "\n"))] = (
                f"{vendored}/{COMMIT_FILE}"
            )

    def _write(self, name: str, text: str) -> Path:
        written = self._scratch / name
        written.parent.mkdir(parents=True, exist_ok=True)
        written.write_text(text, encoding="utf-8")
        written.chmod(0o644)  # the same mode on every machine: the build stays reproducible
        return written

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


class FrameworkDependenciesHook(MetadataHookInterface):
    """A project's `dependencies` and `optional-dependencies` (both `dynamic`): the framework's
    (ml/framework/pyproject.toml, option `framework-project`), plus the project's own
    `extra-dependencies`."""

    PLUGIN_NAME = "custom"

    def update(self, metadata: dict[str, Any]) -> None:
        pyproject = Path(self.root, self.config["framework-project"]).resolve()
        framework = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        metadata["dependencies"] = [*framework["dependencies"], *self.config.get("extra-dependencies", [])]
        metadata["optional-dependencies"] = dict(framework.get("optional-dependencies", {}))
