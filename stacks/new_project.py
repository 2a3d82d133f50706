"""`make new-project NAME=<name> KIND=<kind>`: start an ML project the way the MLOps Stacks template does.

Writes `ml/projects/<name>/` from `ml/template/` (a wheel skeleton: its job graph and console
scripts, tests, the lock and a README stub) with the spec of its kind over it
(`ml/template/kinds/<kind>/`: a classification or a regression, each with its gate metric in
`kind.toml`), and prints the stack-file entry that deploys it. The
result builds, runs its jobs locally and passes its tests before any model code is written
(tests/stacks/test_new_project.py runs it into a temporary copy of the repository).

A name that is invalid or taken (Iris's, or an existing folder), or a kind without a template, is
refused with nothing written; the folder is written aside and renamed into place, so a failure
never leaves half a project.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from mlops_framework.vocabulary import PROJECT_NAME, PrimaryMetric, ProblemKind

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_SUFFIX = ".tmpl"
KINDS_FOLDER = Path("ml", "template", "kinds")  # one folder per kind; the Makefile lists them too
KIND_FACTS = "kind.toml"
# The framework's lock as `make lock` writes it from a project's folder (its pins are the project's).
PROJECT_LOCK_SPELLING = {
    "uv pip compile ml/framework/pyproject.toml": "uv pip compile pyproject.toml",
    "-c ml/serverless-environment-4.txt": "-c ../../serverless-environment-4.txt",
    "-o ml/framework/requirements.lock": "-o requirements.lock",
    "mlops-framework (ml/framework/pyproject.toml)": "{distribution} (pyproject.toml)",
}


@dataclass(frozen=True)
class Kind:
    """A kind's template (`ml/template/kinds/<kind>/`): its files over the shared ones, its gate
    metric and what the project's README says it is."""

    kind: ProblemKind
    folder: Path
    primary_metric: PrimaryMetric
    summary: str


def template_kinds(root: Path) -> dict[str, Path]:
    return {folder.name: folder for folder in sorted((root / KINDS_FOLDER).iterdir()) if folder.is_dir()}


def load_kind(name: str, root: Path) -> Kind:
    folders = template_kinds(root)
    if name not in folders:
        allowed = ", ".join(folders)
        said = " is required" if not name else f"={name!r} is not a kind"
        raise RefusedError(f"KIND{said}; allowed: {allowed}")
    facts = tomllib.loads((folders[name] / KIND_FACTS).read_text(encoding="utf-8"))
    return Kind(ProblemKind(name), folders[name], PrimaryMetric(facts["primary_metric"]), facts["summary"])


@dataclass(frozen=True)
class NewProject:
    name: str
    kind: Kind

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
            "kind": self.kind.kind.value,
            "summary": self.kind.summary,
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


def check(name: str, kind: str, root: Path) -> NewProject:
    if not PROJECT_NAME.fullmatch(name):
        raise RefusedError(
            f"NAME={name!r} is not a project name; allowed: {PROJECT_NAME.pattern} "
            "(lowercase letter first, then 1-20 lowercase letters, digits or '-')"
        )
    project = NewProject(name, load_kind(kind, root))
    if project.folder(root).exists():
        raise RefusedError(f"NAME={name!r} is taken: {project.folder(root).relative_to(root)} exists")
    return project


def render(project: NewProject, root: Path) -> dict[Path, str]:
    """Every file of the new folder (relative path -> text): the shared template, its kind's files
    over it, and the framework's lock."""
    template = root / "ml" / "template"
    values = project.substitutions()
    shared = [p for p in sorted(template.rglob("*")) if (root / KINDS_FOLDER) not in p.parents]
    sources = {path.relative_to(template): path for path in shared if path.is_file()}
    sources |= {
        path.relative_to(project.kind.folder): path
        for path in sorted(project.kind.folder.rglob("*"))
        if path.is_file() and path.name != KIND_FACTS
    }
    files = {
        project.target(relative): Template(path.read_text(encoding="utf-8")).substitute(values)
        for relative, path in sources.items()
    }
    # A project's dependencies are the framework's (ml/hatch_build.py), so are its pins.
    lock = (root / "ml" / "framework" / "requirements.lock").read_text(encoding="utf-8")
    for framework, own in PROJECT_LOCK_SPELLING.items():
        lock = lock.replace(framework, own.format(distribution=project.distribution))
    files[Path("requirements.lock")] = lock
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
        # Said even where it is the default: the entry shows what the project is gated on.
        f"      primaryMetric: {project.kind.primary_metric.value}\n"
    )


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="make new-project", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the project's name: ml/projects/<name>/, dist/<name>/, <name>-<task>")
    parser.add_argument("kind", help=f"what its model predicts: {', '.join(template_kinds(root))}")
    args = parser.parse_args(argv)
    try:
        project = check(args.name, args.kind, root)
        folder = write(project, root)
    except RefusedError as refusal:
        sys.stderr.write(f"make new-project: {refusal}; nothing written\n")
        return 2
    relative = folder.relative_to(root)
    sys.stdout.write(
        f"wrote {relative}/ (a {project.kind.kind.value}: package {project.package}, "
        f"console scripts {project.name}-<task>)\n"
        f"next: make setup (installs it), make wheel (dist/{project.name}/), "
        f".venv/bin/python -m pytest -q {relative}\n"
        "stack files: deploy it by adding this entry to the `mlops-platform:projects:` list of each\n"
        f"Pulumi.<stack>.yaml that runs it (below the last entry, same indentation):\n{stack_entry(project)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
