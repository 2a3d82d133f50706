"""Stress: does a job that exits right after its last table read abort? Not part of make test.

    .venv/bin/python -m bench.exit_race [runs]

Each run is a fresh interpreter that reads a small Delta table through LocalBackend.read_table,
holding the GIL (huge switch interval, no I/O) after each read until an Arrow pool thread is seen
still holding the read's Python filesystem (deltalake's default PyFileSystem), then exits with that
thread waiting for the GIL: if it wakes while the interpreter finalises, CPython 3.11 ends it with
pthread_exit, and unwinding through a noexcept C++ destructor aborts ("terminate called without an
active exception"). Prints the number of aborts. The ordering is only forced in part (the waiting
thread must wake after finalisation started), so the rate is a rate, not a certainty.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from deltalake import write_deltalake

CHILD = """
import sys, threading, time
from pathlib import Path
from deltalake.fs import DeltaStorageHandler
from mlops_framework.backends.local import LocalBackend

released = []
DeltaStorageHandler.__del__ = lambda self: released.append(threading.get_ident())
backend = LocalBackend(Path(sys.argv[1]))
sys.setswitchinterval(1000)  # the main thread keeps the GIL until it blocks
for attempt in range(20):
    frame = backend.read_table("main.race.rows")
    end = time.perf_counter() + 0.03
    while time.perf_counter() < end:  # an Arrow thread finishing the scan now waits for the GIL
        pass
    if len(released) <= attempt:  # each read made one; this one is still held
        break  # exit with that thread waiting: it wakes while the interpreter finalises
sys.setswitchinterval(0.0001)
import atexit
atexit._clear()  # some handlers release the GIL, which lets that thread in before finalisation
print(len(frame))
"""


def main(runs: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        table = Path(home, "tables", "main", "race", "rows")
        for part in range(4):
            write_deltalake(str(table), pd.DataFrame({"x": range(part * 10, part * 10 + 10)}), mode="append")
        aborts = 0
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, "-c", CHILD, home], capture_output=True, text=True, check=False
            )
            aborts += done.returncode == -signal.SIGABRT
            print(f"exit {done.returncode}", flush=True)
        print(f"{aborts} aborts in {runs} runs")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
