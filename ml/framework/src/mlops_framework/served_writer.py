"""The served-request recorder of `iris-mlops serve`: requests recorded in the serving process,
unpacked and written in a writer process of their own.

Measured on the local server (py-spy, GIL samples, one client, 16 s): unpacking the answered
requests with MLflow's parser (served_log.py) held the interpreter as long as the scoring itself,
about a third of all GIL samples, and every request waited for it during a flush. So the serving
process only keeps what it answered (the request's body bytes, the answer, the version, when, an
id: one list append under a lock no writer holds) and, every `flush_seconds` from a background
thread, hands the batch over a pipe to `python -m <this package>.served_writer`: one pickle of bytes
and strings, no per-request Python work. The writer process parses, unpacks and merges the rows
into the Delta table (ServedRequestLog), and answers with the number of rows written.

- Started before the server reports ready, so its imports never compete with a request; a writer
  that exits is started again at the next flush, its batch logged as lost.
- Loss-free across a clean shutdown: `stop()` hands over what is pending and waits for the writer.
- A failing write is logged (by the writer, on the server's stderr) and never fails a request.
- The writer parses each batch's requests of one shape as one frame (served_log.unpacked_all):
  0.05 s of CPU for 2,150 one-row requests, where one parse per request took 1.45 s, a third of a
  core at 430 requests a second, taken from the server on a two-core machine. It keeps the
  server's CPU priority: the server waits for it at start and at shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import pandas as pd

from .logs import LOGGER_NAME
from .project import ProjectSpec

FLUSH_SECONDS = 5.0
START_TIMEOUT_SECONDS = 60.0
_FRAME = struct.Struct("!Q")
_READY = 2**64 - 1
_logger = logging.getLogger(LOGGER_NAME)


@dataclass(frozen=True)
class Answered:
    """One answered request, as the serving process keeps it: raw, unparsed."""

    body: bytes
    response: str | bytes
    model_version: str
    served_at: datetime
    request_id: str


@dataclass(frozen=True)
class ServedTableWrite:
    """Merges served rows into a table of a backend; pickled to the writer process."""

    backend: Any  # a Backend; pickled whole (the local one is its home directory)
    table: str
    keys: tuple[str, ...]
    provenance: dict[str, str]

    def __call__(self, rows: pd.DataFrame) -> object:
        return self.backend.merge_rows(self.table, rows, self.keys, self.provenance)


def _send(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_FRAME.pack(len(payload)) + payload)
    stream.flush()


def _receive(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    (size,) = _FRAME.unpack(head)
    return stream.read(size)


def _read_number(stream: IO[bytes]) -> int:
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        raise EOFError("the served-request writer exited")
    number: int = _FRAME.unpack(head)[0]
    return number


def _pipes(writer: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    if writer.stdin is None or writer.stdout is None:
        raise OSError("the served-request writer has no pipes")
    return writer.stdin, writer.stdout


class ServedRequestRecorder:
    """What the serving process records; unpacked and written by a writer process."""

    def __init__(
        self,
        write: Callable[[pd.DataFrame], object],
        project: ProjectSpec,
        flush_seconds: float = FLUSH_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = pickle.dumps((write, project))  # refused here, not in the writer, if unpicklable
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._pending: list[tuple[bytes, str | bytes, str, datetime, str]] = []
        self._schemas: dict[str, Any] = {}
        self._lock = threading.Lock()  # only around the list: the writer's work never holds it
        self._flushing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writer: subprocess.Popen[bytes] | None = None

    @property
    def writer_pid(self) -> int | None:
        return None if self._writer is None else self._writer.pid

    def record(self, body: bytes, response: str | bytes, model_version: str, schema: Any) -> None:
        # A plain tuple, Answered's fields in order: pickled by C code alone at the flush, where a
        # dataclass costs a Python call per request while requests wait.
        answered = (body, response, model_version, self._clock(), uuid.uuid4().hex)
        with self._lock:
            self._pending.append(answered)
            self._schemas.setdefault(model_version, schema)

    def flush(self) -> int:
        """Hand what is pending to the writer process; the number of rows it wrote."""
        with self._flushing:
            with self._lock:
                pending, self._pending = self._pending, []
                schemas = dict(self._schemas)
            if not pending:
                return 0
            batch = pickle.dumps((pending, schemas), protocol=pickle.HIGHEST_PROTOCOL)
            try:
                requests, answers = _pipes(self._started_writer())
                _send(requests, batch)
                return _read_number(answers)
            except (OSError, EOFError) as error:
                _logger.error("%d served requests not recorded: %s", len(pending), error)
                self._end_writer()
                return 0

    def _started_writer(self) -> subprocess.Popen[bytes]:
        if self._writer is not None and self._writer.poll() is None:
            return self._writer
        self._end_writer()
        command = [sys.executable, "-m", __name__]  # this module, wherever the wheel vendored it
        writer = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # noqa: S603
        self._writer = writer
        requests, answers = _pipes(writer)
        _send(requests, self._config)
        if _read_number(answers) != _READY:
            raise EOFError("the served-request writer did not start")
        return writer

    def _end_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        with contextlib.suppress(OSError):
            _pipes(writer)[0].close()  # end of input: the writer finishes and exits
        try:
            writer.wait(timeout=START_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            writer.kill()
            writer.wait()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def start(self) -> None:
        """Start the writer process (its imports paid now, before the server is ready) and the
        background flush."""
        with self._flushing:
            try:
                self._started_writer()
            except (OSError, EOFError) as error:
                _logger.error("the served-request writer did not start (retried at each flush): %s", error)
        if self._thread is None and self.flush_seconds > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="iris-mlops-served-log", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background flush, hand over what is left and wait for the writer to write it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT_SECONDS)
            self._thread = None
        self.flush()
        with self._flushing:
            self._end_writer()


def _writer_main(requests: IO[bytes], answers: IO[bytes]) -> None:
    # Imported here: the serving process never pays for the parser, pandas frames or the table writer.
    from .scoring_requests import RequestError, parse_json  # noqa: PLC0415
    from .served_log import ServedRequest, ServedRequestLog  # noqa: PLC0415

    config = _receive(requests)
    if config is None:
        return
    write, project = pickle.loads(config)  # noqa: S301 - from the serving process that started us
    log = ServedRequestLog(write, project)
    answers.write(_FRAME.pack(_READY))
    answers.flush()
    while (frame := _receive(requests)) is not None:
        pending, schemas = pickle.loads(frame)  # noqa: S301 - as above
        for fields in pending:
            answered = Answered(*fields)
            try:
                payload = parse_json(answered.body)
            except RequestError as error:
                _logger.warning("served request %s not recorded: %s", answered.request_id, error.message)
                continue
            log.add(
                ServedRequest(
                    payload,
                    answered.response,
                    answered.model_version,
                    schemas.get(answered.model_version),
                    answered.served_at,
                    answered.request_id,
                )
            )
        answers.write(_FRAME.pack(log.flush()))
        answers.flush()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s served-request writer: %(message)s")
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything a library prints goes to the log, never into the answers
    started = time.monotonic()
    _writer_main(sys.stdin.buffer, answers)
    _logger.debug("served-request writer done after %.0f s", time.monotonic() - started)


if __name__ == "__main__":
    main()
