"""The served model and the champion follower of `iris-mlops serve`.

ChampionFollower looks the alias up every `poll_seconds` (one registry read) in a background
thread; a new champion is loaded there, then swapped in with one assignment, so a request is
answered wholly by the old model or wholly by the new one and never waits for a load. A version
that fails to load is logged and the current one keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel

from .errors import IrisMlopsError
from .logs import LOGGER_NAME
from .vocabulary import CHAMPION

POLL_SECONDS = 2.0
_logger = logging.getLogger(LOGGER_NAME)


@dataclass(frozen=True)
class Served:
    """One loaded model version; replaced whole, never changed in place."""

    version: str
    model: PyFuncModel

    @property
    def input_schema(self) -> Any:
        return self.model.metadata.get_input_schema()  # type: ignore[no-untyped-call]


class ChampionFollower:
    """The served model, following the alias: `refresh()` loads a new champion and swaps it in."""

    def __init__(
        self,
        served: Served,
        lookup: Callable[[], str | None] | None = None,
        load: Callable[[str], PyFuncModel] | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.served = served
        self._lookup = lookup
        self._load = load
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Swap in the alias's version if it moved; True when it did."""
        if self._lookup is None or self._load is None:
            return False
        try:
            version = self._lookup()
            if version is None or version == self.served.version:
                return False
            served = Served(version, self._load(version))
        except (IrisMlopsError, MlflowException, OSError) as error:
            _logger.error(
                "still serving v%s: the champion could not be loaded: %s", self.served.version, error
            )
            return False
        self.served = served  # one reference assignment: the swap is atomic for every request
        _logger.info("now serving v%s (the %s alias moved)", served.version, CHAMPION)
        return True

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh()

    def start(self) -> None:
        if self._lookup is not None and self.poll_seconds > 0 and self._thread is None:
            self._thread = threading.Thread(target=self._poll, name="iris-mlops-champion", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
