"""`make new-project NAME=<name>`: start an ML project the way the MLOps Stacks template does.

Writes `ml/projects/<name>/` from `ml/template/` (a wheel skeleton: its spec, job graph and console
scripts, tests, the lock and a README stub) and prints the stack-file entry that deploys it. The
result builds, runs its jobs locally and passes its tests before any model code is written
(tests/stacks/test_new_project.py runs it into a temporary copy of the repository).

A name that is invalid or taken (Iris's, or an existing folder) is refused with nothing written; the
folder is written aside and renamed into place, so a failure never leaves half a project.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from iris_mlops.vocabulary import PROJECT_NAME

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_SUFFIX = ".tmpl"
RESERVED = frozenset({"iris"})  # Iris is ml/ itself


@dataclass(frozen=True)
class NewProject:
    name: str

    @property
    def identifier(self) -> str:
        """Unity Catalog and Python spelling of the name (schema, tables, package)."""
        return self.name.replace("-", "_")

    @property
    def package(self) -> str:
        return f"{self.identifier}_mlops"

    @property
    def distribution(self) -> str:
        return f"{self.name}-mlops"

    def folder(self, root: Path) -> Path:
        return root / "ml" / "projects" / self.name

    def substitutions(self) -> dict[str, str]:
        return {
            "name": self.name,
            "identifier": self.identifier,
            "package": self.package,
            "distribution": self.distribution,
        }

    def target(self, relative: Path) -> Path:
        """Where a template file lands: `src/package/` is the package, `.tmpl` is dropped."""
        parts = [self.package if part == "package" else part for part in relative.parts]
        path = Path(*parts)
        if path.name == f"support.py{TEMPLATE_SUFFIX}":
            path = path.with_name(f"{self.package}_support.py{TEMPLATE_SUFFIX}")
        elif path.name == f"test_project.py{TEMPLATE_SUFFIX}":
            path = path.with_name(f"test_{self.package}_project.py{TEMPLATE_SUFFIX}")
        return path.with_name(path.name.removesuffix(TEMPLATE_SUFFIX))


class RefusedError(ValueError):
    """The name cannot be used; nothing was written."""


def check(name: str, root: Path) -> NewProject:
    if not PROJECT_NAME.fullmatch(name):
        raise RefusedError(
            f"NAME={name!r} is not a project name; allowed: {PROJECT_NAME.pattern} "
            "(lowercase letter first, then 1-20 lowercase letters, digits or '-')"
        )
    project = NewProject(name)
    if name in RESERVED:
        raise RefusedError(f"NAME={name!r} is taken: Iris is ml/ itself")
    if project.folder(root).exists():
        raise RefusedError(f"NAME={name!r} is taken: {project.folder(root).relative_to(root)} exists")
    return project


def render(project: NewProject, root: Path) -> dict[Path, str]:
    """Every file of the new folder (relative path -> text), from the template and Iris's lock."""
    template = root / "ml" / "template"
    values = project.substitutions()
    files = {
        project.target(path.relative_to(template)): Template(path.read_text(encoding="utf-8")).substitute(
            values
        )
        for path in sorted(template.rglob("*"))
        if path.is_file()
    }
    # A project's dependencies are the framework's (ml/hatch_build.py), so are its pins.
    lock = (root / "ml" / "requirements.lock").read_text(encoding="utf-8")
    files[Path("requirements.lock")] = lock.replace(
        "iris-mlops (ml/pyproject.toml)", f"{project.distribution} (pyproject.toml)"
    )
    return files


def write(project: NewProject, root: Path) -> Path:
    """The folder, written aside then renamed into place (no half-written project)."""
    folder = project.folder(root)
    folder.parent.mkdir(parents=True, exist_ok=True)
    aside = Path(tempfile.mkdtemp(prefix=f".{project.name}-", dir=folder.parent))
    try:
        for relative, text in render(project, root).items():
            (aside / relative).parent.mkdir(parents=True, exist_ok=True)
            (aside / relative).write_text(text, encoding="utf-8")
        aside.chmod(0o755)
        os.rename(aside, folder)  # fails if the folder appeared meanwhile: nothing is overwritten
    except BaseException:
        shutil.rmtree(aside, ignore_errors=True)
        raise
    return folder


def stack_entry(project: NewProject) -> str:
    """The project's entry, indented as the items of the committed stack files' projects list: it
    is pasted into that list, never with a second `mlops-platform:projects:` (a repeated key)."""
    return (
        f"    - name: {project.name}\n"
        f"      path: ml/projects/{project.name}\n"
        # The template is a regression gated on RMSE; the default gate metric (f1_macro) is a
        # classification metric its tasks would refuse.
        "      primaryMetric: rmse\n"
    )


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="make new-project", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the project's name: ml/projects/<name>/, dist/<name>/, <name>-<task>")
    args = parser.parse_args(argv)
    try:
        project = check(args.name, root)
        folder = write(project, root)
    except RefusedError as refusal:
        sys.stderr.write(f"make new-project: {refusal}; nothing written\n")
        return 2
    relative = folder.relative_to(root)
    sys.stdout.write(
        f"wrote {relative}/ (package {project.package}, console scripts {project.name}-<task>)\n"
        f"next: make setup (installs it), make wheel (dist/{project.name}/), "
        f".venv/bin/python -m pytest -q {relative}\n"
        "stack files: deploy it by adding this entry to the `mlops-platform:projects:` list of each\n"
        f"Pulumi.<stack>.yaml that runs it (below the last entry, same indentation):\n{stack_entry(project)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
