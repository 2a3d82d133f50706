"""The shell blocks of README.md and docs/*.md that are marked to run offline, and how they ran.

A block is marked by an HTML comment on the line before its fence, ``<!-- offline: <name> -->``:
the docs test runs every command line of it, in order, in a fresh clone (``run_doc_blocks.py``).
Unmarked blocks need a cloud, the Pulumi CLI or a person (``<!-- commands: ... -->`` blocks are kept
equal to the workflows by tests/workflows instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- offline: (?P<name>[a-z0-9-]+) -->$")
FENCE = re.compile(r"^```(?:sh|bash)$")


@dataclass(frozen=True)
class Command:
    text: str  # the line as written, its comment included (bash ignores it)
    line: int  # where it is in its file


@dataclass(frozen=True)
class Block:
    file: str  # relative to the repository
    name: str
    line: int  # the marker's line
    commands: tuple[Command, ...]

    @property
    def label(self) -> str:
        return f"{self.file}:{self.line} ({self.name})"


class MarkerError(ValueError):
    """A marker that marks no shell block, or two blocks of one name."""


def documents(root: Path = ROOT) -> list[Path]:
    """The README first, then the design notes in name order: the order a user reads them in."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def offline_blocks(root: Path = ROOT) -> list[Block]:
    blocks: list[Block] = []
    for path in documents(root):
        lines = path.read_text(encoding="utf-8").splitlines()
        relative = path.relative_to(root).as_posix()
        for index, line in enumerate(lines):
            marker = MARKER.match(line.strip())
            if marker is None:
                continue
            if index + 1 >= len(lines) or not FENCE.match(lines[index + 1].strip()):
                raise MarkerError(
                    f"{relative}:{index + 1}: `{line.strip()}` is not followed by a ```sh block"
                )
            commands = []
            for offset, text in enumerate(lines[index + 2 :], index + 3):
                if text.strip() == "```":
                    break
                if text.strip() and not text.lstrip().startswith("#"):
                    commands.append(Command(text.strip(), offset))
            blocks.append(Block(relative, marker["name"], index + 1, tuple(commands)))
    names = [block.name for block in blocks]
    if len(set(names)) != len(names):
        raise MarkerError(
            f"two offline blocks share a name: {sorted(n for n in names if names.count(n) > 1)}"
        )
    return blocks
