"""A generated block inside a document, between an HTML-comment start marker and an end marker:
the README's configuration reference, docs/security.md's trust model."""

from __future__ import annotations


def markers(name: str) -> tuple[str, str]:
    """``<!-- <name>:start -->`` and ``<!-- <name>:end -->``."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def block(text: str, name: str) -> str:
    """The block as ``text`` holds it."""
    start, end = markers(name)
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n") + "\n"


def with_block(text: str, name: str, body: str) -> str:
    """``text`` with the block replaced by ``body``."""
    start, end = markers(name)
    before, rest = text.split(start, 1)
    return f"{before}{start}\n{body}{end}{rest.split(end, 1)[1]}"
