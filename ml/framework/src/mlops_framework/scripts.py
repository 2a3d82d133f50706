"""A project's console scripts: the framework's generic tasks and front door, run with its spec.

Its own module, above both the task entry (entrypoints.py) and the front door (cli.py, which runs
jobs through runner.py and entrypoints.py), so that neither of those imports the other's caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .entrypoints import run_task
from .project import ProjectSpec


@dataclass(frozen=True)
class ProjectScripts:
    """A project's console scripts, in its pyproject.toml as
    `<project>-<task> = "<module>:<SCRIPTS>.<task>"` (and `<project>-mlops` for `cli`)."""

    project: ProjectSpec

    def _run(self, task: str, argv: Sequence[str] | None) -> None:
        run_task(self.project.entry_point(task), argv, self.project)

    def ingest(self, argv: Sequence[str] | None = None) -> None:
        self._run("ingest", argv)

    def train(self, argv: Sequence[str] | None = None) -> None:
        self._run("train", argv)

    def evaluate(self, argv: Sequence[str] | None = None) -> None:
        self._run("evaluate", argv)

    def approve(self, argv: Sequence[str] | None = None) -> None:
        self._run("approve", argv)

    def deploy(self, argv: Sequence[str] | None = None) -> None:
        self._run("deploy", argv)

    def batch_inference(self, argv: Sequence[str] | None = None) -> None:
        self._run("batch-inference", argv)

    def monitor(self, argv: Sequence[str] | None = None) -> None:
        self._run("monitor", argv)

    def cli(self, argv: Sequence[str] | None = None) -> None:
        from .cli import main  # noqa: PLC0415 - rich and the runner: only the front door needs them

        main(argv, project=self.project)
