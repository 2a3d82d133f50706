"""Stack files edited as a person would: a round-trip YAML that writes back with the file's own
indentation, quoting and comments (`make promote`, the bootstrap's hand-off)."""

from __future__ import annotations

import itertools
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.tokens import CommentToken


def _indentation(text: str) -> tuple[int, int]:
    """The file's mapping indent and the offset of `-` under a sequence's parent key."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    depths = [len(line) - len(line.lstrip(" ")) for line in lines]
    mapping = min((d for d in depths if d > 0), default=2)
    for (parent, parent_depth), (line, depth) in itertools.pairwise(zip(lines, depths, strict=True)):
        if parent.rstrip().endswith(":") and line.lstrip().startswith("- "):
            return mapping, depth - parent_depth
    return mapping, mapping


def round_trip_yaml(text: str) -> YAML:
    """A round-trip YAML that writes back with the file's own indentation and quoting."""
    mapping, offset = _indentation(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long values
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


def put_keeping_comments(entry: CommentedMap, field: str, value: Any) -> None:
    """Set ``field``; a new last key takes over the comment lines that followed the former last one
    (ruamel keeps them on that key: the next section's comment would land above the new key)."""
    last = next(reversed(entry), None) if field not in entry else None
    entry[field] = value
    token = entry.ca.items.get(last, [None, None, None, None])[2] if last is not None else None
    if token is None:
        return
    inline, newline, following = token.value.partition("\n")
    if not following:
        return
    token.value = inline + newline  # the former last key keeps its own inline comment
    entry.ca.items[field] = [None, None, CommentToken("\n" + following, token.start_mark), None]
