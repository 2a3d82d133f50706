"""``.github/CODEOWNERS``: the paths whose every change a code owner must approve.

The main ruleset requires a code owner's review (infra/repository_settings.py), so a pull request
cannot weaken the policy pack, the workflows, the bootstrap or the identities' code with one
colleague's approval. The owners are the bootstrap's ``github.codeOwners`` team; GitHub reads the
file literally (no variables), so ``make bootstrap`` writes it (bootstrap/handoff.py).
"""

from __future__ import annotations

from core.trust import CODE_OWNED_PATHS

CODEOWNERS = ".github/CODEOWNERS"


def codeowners(owners: str) -> str:
    """The file for ``owners`` (``@<org>/<team>``): one line per guarded path."""
    lines = [
        "# Written by `make bootstrap` (bootstrap/codeowners.py) from the bootstrap's github.codeOwners.",
        "# A change to any path below needs its owners' approval (the main ruleset requires it).",
        *(f"{path} {owners}" for path in CODE_OWNED_PATHS),
    ]
    return "\n".join(lines) + "\n"
