"""The GitHub token behind `make bootstrap`, and nothing else: its permissions.

The one list of them. The GitHub provider reads the token from the ``GITHUB_TOKEN`` environment
variable of the ``pulumi`` process a person runs; the workflow's own token can never hold these, and
no workflow, stack or vault holds this one (docs/ci.md, docs/security.md finding 2).
`make bootstrap` prints the list when the token is missing, docs/bootstrap.md shows it between its
``github-token`` markers (written by ``python -m bootstrap.github_token --docs``; a test checks it is
current), and the README and docs/ci.md link there.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "bootstrap.md"
START, END = "<!-- github-token:start -->", "<!-- github-token:end -->"


@dataclass(frozen=True)
class Permission:
    scope: str  # "repository" or "organisation"
    name: str
    access: str
    needed_for: str


PERMISSIONS = (
    Permission("repository", "Administration", "read and write", "rulesets and default workflow permissions"),
    Permission(
        "repository",
        "Actions",
        "read and write",
        "the OIDC subject template that puts job_workflow_ref into every token (REST: actions/oidc)",
    ),
    Permission(
        "repository", "Environments", "read and write", "the GitHub environments and their deployment rules"
    ),
    Permission(
        "repository", "Secrets", "read and write", "Actions secrets of the repository and environments"
    ),
    Permission("repository", "Metadata", "read", "always on"),
    Permission(
        "organisation",
        "Members",
        "read",
        "only when release managers, prod reviewers or code owners are teams",
    ),
)
KIND = (
    "a fine-grained personal access token limited to the repository, or better a GitHub App "
    "installation token (not tied to a person)"
)


def lines() -> list[str]:
    return [f"{p.scope} {p.name}: {p.access} ({p.needed_for})" for p in PERMISSIONS]


def markdown() -> str:
    items = [f"- {p.scope} *{p.name}*: {p.access} ({p.needed_for})" for p in PERMISSIONS]
    return "\n".join([f"`GITHUB_TOKEN`: {KIND}, with", *items])


def docs_section(text: str) -> str:
    """What docs/bootstrap.md holds between its markers."""
    return _section(text)[1].strip()


def with_section(text: str) -> str:
    """docs/bootstrap.md with the list written between its markers."""
    match = _section(text)
    return text[: match.start()] + f"{START}\n{markdown()}\n{END}" + text[match.end() :]


def _section(text: str) -> re.Match[str]:
    match = re.search(re.escape(START) + r"(.*?)" + re.escape(END), text, re.DOTALL)
    if match is None:
        raise ValueError(f"{DOCS.name} has no {START} ... {END} section")
    return match


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bootstrap.github_token", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--docs", action="store_true", help=f"rewrite the section of {DOCS.name}")
    if parser.parse_args(argv).docs:
        text = DOCS.read_text(encoding="utf-8")
        DOCS.write_text(with_section(text), encoding="utf-8")
    else:
        sys.stdout.write(markdown() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
