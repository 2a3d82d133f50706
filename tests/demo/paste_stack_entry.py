"""Paste a new project's stack-file entry as the README tells a user to: below the last entry of the
`mlops-platform:projects` list, same indentation (the entry is what `make new-project` printed).

    python paste_stack_entry.py <Pulumi.<stack>.yaml> <name> <kind>

Run by the clone's interpreter in the clone (tests/demo/conftest.py, AFTER_THE_BLOCKS).
"""

from __future__ import annotations

import sys
from pathlib import Path

from stacks.loading import PROJECT
from stacks.new_project import NewProject, load_kind, stack_entry


def paste(text: str, entry: str) -> str:
    lines = text.splitlines(keepends=True)
    key = next(i for i, line in enumerate(lines) if line.strip() == f"{PROJECT}:projects:")
    end = key + 1
    # The list's items are indented deeper than the key; the next key (or its comment) is not.
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith("    ")):
        end += 1
    while lines[end - 1].strip() == "":  # blank lines before the next key stay after the entry
        end -= 1
    return "".join([*lines[:end], entry, *lines[end:]])


def main(stack_file: Path, name: str, kind: str) -> int:
    entry = stack_entry(NewProject(name, load_kind(kind, Path.cwd())))
    stack_file.write_text(paste(stack_file.read_text(encoding="utf-8"), entry), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
