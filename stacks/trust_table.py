"""Render the trust model (core/trust.py) as the markdown table docs/security.md shows.

python -m stacks.trust_table          print it
python -m stacks.trust_table --docs   rewrite docs/security.md's copy (between its markers)
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.trust import POLICY, TRUST_MODEL, TrustRow
from stacks.marked import block, with_block

SECURITY = Path(__file__).resolve().parent.parent / "docs" / "security.md"
BLOCK = "trust-model"


def _guard(guard: str) -> str:
    if guard.startswith(POLICY):
        return f"policy `{guard.removeprefix(POLICY)}`"
    path, test = guard.split("::")
    return f"`{Path(path).name}::{test}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(row: TrustRow) -> str:
    guards = "<br>".join(_guard(g) for g in row.guards)
    cells = (row.actor, row.gets_in, row.reaches, row.never, guards)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render_trust_model() -> str:
    lines = [
        "| actor | gets in as | can reach | can never | checked by |",
        "|---|---|---|---|---|",
        *(_row(row) for row in TRUST_MODEL),
    ]
    return "\n".join(lines) + "\n"


def docs_trust_model(text: str) -> str:
    """The table as docs/security.md holds it."""
    return block(text, BLOCK)


if __name__ == "__main__":
    if sys.argv[1:] == ["--docs"]:
        SECURITY.write_text(
            with_block(SECURITY.read_text(encoding="utf-8"), BLOCK, render_trust_model()), encoding="utf-8"
        )
    else:
        sys.stdout.write(render_trust_model())
