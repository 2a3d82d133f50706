"""Named kill points for fault-injection tests: `MLOPS_KILL_AT=<point>` makes the process
SIGKILL itself when it reaches that point, so a test can stop a task exactly there (not on a timer).

Unset (always, outside tests) each checkpoint is one environment lookup.
"""

from __future__ import annotations

import os
import signal

KILL_AT_ENV_VAR = "MLOPS_KILL_AT"

STORE_BUILT_ASIDE = "store-built-aside"  # MLflow store built under its temporary name, not yet linked
RUN_STARTED = "run-started"  # an MLflow run of the task is open
VERSION_CREATED = "version-created"  # train registered a model version, before tagging it
TABLE_WRITTEN = "table-written"  # a Delta commit landed, before the task returns

POINTS = frozenset({STORE_BUILT_ASIDE, RUN_STARTED, VERSION_CREATED, TABLE_WRITTEN})


def checkpoint(point: str) -> None:
    wanted = os.environ.get(KILL_AT_ENV_VAR)
    if wanted is None:
        return
    if wanted not in POINTS:  # a typo would otherwise never kill, and a test would prove nothing
        raise ValueError(f"{KILL_AT_ENV_VAR}={wanted!r}; allowed: {', '.join(sorted(POINTS))}")
    if wanted == point:
        os.kill(os.getpid(), signal.SIGKILL)
