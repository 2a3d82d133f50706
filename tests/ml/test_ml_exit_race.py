"""A job's table reads leave no Python object for Arrow's threads to release at exit.

Arrow's pool threads may still be tearing a scan down after `to_table` returned. With deltalake's
default filesystem (a Python `PyFileSystem`), that teardown can drop the last reference to a Python
object and so needs the GIL; once the interpreter is finalising, CPython 3.11 ends such a thread
with pthread_exit, and the unwinding through a noexcept C++ destructor calls std::terminate
("terminate called without an active exception", SIGABRT): about one monitoring run in forty under
load. `python -m bench.exit_race` forces that ordering in fresh interpreters (a rate, not part of
make test); this test checks the cause is gone: no read builds a Python filesystem.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.fs
import pytest
from deltalake import write_deltalake
from mlops_framework.backends.local import LocalBackend

WHEN = datetime(2031, 3, 1, tzinfo=UTC)
READS = {
    "whole": lambda backend: backend.read_table("main.race.rows"),
    "window": lambda backend: backend.read_window(
        "main.race.rows", "at", WHEN, WHEN + timedelta(days=1), ["x", "at"]
    ),  # the monitor's read
}


@pytest.mark.parametrize("read", READS)
def test_a_table_read_builds_no_python_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    table = tmp_path / "tables" / "main" / "race" / "rows"
    for part in range(2):
        rows = pd.DataFrame({"x": range(part * 10, part * 10 + 10), "at": pd.Timestamp(WHEN)})
        write_deltalake(str(table), rows, mode="append")
    built: list[Any] = []
    real = pyarrow.fs.PyFileSystem
    monkeypatch.setattr(pyarrow.fs, "PyFileSystem", lambda handler: built.append(handler) or real(handler))
    rows = READS[read](LocalBackend(tmp_path))
    assert sorted(rows["x"]) == list(range(20))
    assert built == []
