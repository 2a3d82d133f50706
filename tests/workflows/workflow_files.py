"""The repository's GitHub workflows as data: jobs, steps, the reusable workflows they call.

Parsed as YAML 1.2, so the `on:` key stays a string instead of becoming ``True``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
VENV_BIN = ROOT / ".venv" / "bin"
# What a repository owner sets by hand (docs/ci.md, "What a repository owner still clicks by hand"):
# the values jobs read that no GitHub environment holds (the bootstrap writes both kinds).
REPOSITORY_SECRETS = ("AZURE_PREVIEW_CLIENT_ID", "AZURE_TENANT_ID")


@dataclass(frozen=True)
class Step:
    workflow: str
    job: str
    body: dict[str, Any]

    @property
    def uses(self) -> str:
        return str(self.body.get("uses", ""))

    def runs(self, action: str) -> bool:
        return self.uses.split("@")[0] == action


@dataclass(frozen=True)
class Job:
    workflow: str
    name: str
    body: dict[str, Any]

    @property
    def permissions(self) -> dict[str, str]:
        return dict(self.body.get("permissions") or {})

    @property
    def steps(self) -> list[Step]:
        return [Step(self.workflow, self.name, dict(s)) for s in self.body.get("steps", [])]

    @property
    def calls(self) -> str | None:
        """The reusable workflow's file name when the job calls one (`uses: <owner>/<repo>/.github/
        workflows/x.yml@main` or `./.github/workflows/x.yml`)."""
        uses = self.body.get("uses")
        return str(uses).rsplit("/", 1)[-1].split("@")[0] if uses else None


def load_yaml(path: Path) -> dict[str, Any]:
    return load_yaml_text(path.read_text(encoding="utf-8"))


def load_yaml_text(text: str) -> dict[str, Any]:
    document: dict[str, Any] = YAML(typ="safe", pure=True).load(text)
    return document


def load_workflows() -> dict[str, dict[str, Any]]:
    return {path.name: load_yaml(path) for path in sorted(WORKFLOWS.glob("*.yml"))}


def all_jobs(workflows: dict[str, dict[str, Any]]) -> list[Job]:
    return [
        Job(file, name, dict(body)) for file, doc in workflows.items() for name, body in doc["jobs"].items()
    ]


def composite_steps() -> Iterator[Step]:
    for path in sorted(ACTIONS.glob("*/action.yml")):
        for step in load_yaml(path)["runs"]["steps"]:
            yield Step(str(path.relative_to(ROOT)), "composite", dict(step))
