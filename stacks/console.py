"""The consoles of this project's command lines: as readable in a CI log as in a terminal.

Without a terminal (a CI log, a pipe) rich draws COLUMNS characters, or 80 when COLUMNS is unset,
and shortens table cells to fit: the plan's "what differs" table then showed ``sandb…`` instead
of values. Here a console without a terminal is ``LOG_WIDTH`` wide unless COLUMNS says otherwise,
and tables meant for logs fold long cells onto more lines instead of cutting them (``fold``).
"""

from __future__ import annotations

import os
from typing import IO

from rich.console import Console, OverflowMethod

LOG_WIDTH = 320  # the four-stack tables with their GUIDs and backend URLs fit whole; log viewers scroll
FOLD: OverflowMethod = "fold"  # rich's overflow that wraps a long cell, never replacing text with "…"


def cli_console(*, stderr: bool = False, file: IO[str] | None = None, soft_wrap: bool = False) -> Console:
    """A rich console for a CLI's output; ``LOG_WIDTH`` wide when it writes to no terminal."""
    console = Console(stderr=stderr, file=file, soft_wrap=soft_wrap)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = LOG_WIDTH
    return console
