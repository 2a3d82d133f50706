"""Status output: logging through rich, configured once per process."""

from __future__ import annotations

import logging

from rich.logging import RichHandler

# Named for the framework: a vendored copy (ml/hatch_build.py) logs under the same name.
LOGGER_NAME = "mlops_framework"


def configure_logging(level: int = logging.INFO) -> logging.Logger:
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = RichHandler(show_path=False, rich_tracebacks=True, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
    return logger
