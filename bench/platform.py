"""Rows for the platform side: the offline plan and the whole test suite, each against a baseline.

Two budgets are ratios against importing the four Pulumi SDKs in a cold process (what
any program of this stack pays before it registers anything), so they hold on a slower machine:
planning all four stacks in a cold process at most 2x that, the whole test suite at most 40 s (about
18x it on the 2-core machine where 40 s was set).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

from bench.measurement import Measurement
from core.environment import Environment
from stacks.plan import plan_stack

ROOT = Path(__file__).resolve().parent.parent


def _seconds(action: Callable[[], object]) -> float:
    gc.collect()  # a collection of the previous plan's objects must not land inside this one
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _best_of(runs: int, action: Callable[[], object]) -> float:
    return min(_seconds(action) for _ in range(runs))


def plan_measurements() -> list[Measurement]:
    """All four stacks against one (sandbox, the smallest): how planning scales with stacks."""
    plan_stack(Environment.SANDBOX)  # imports and first-run setup are not what is measured
    one = _best_of(3, lambda: plan_stack(Environment.SANDBOX))
    four = _best_of(3, lambda: [plan_stack(env) for env in Environment])
    return [Measurement("offline plan, all 4 stacks (warm)", four, "offline plan, sandbox only", one)]


SDKS = ("pulumi", "pulumi_azure_native", "pulumi_databricks", "pulumi_github")
COLD_RUNS = 3


def _cold(*arguments: str) -> float:
    """Wall time of a fresh interpreter running ``arguments``, its output discarded."""
    started = time.perf_counter()
    subprocess.run([sys.executable, *arguments], cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


@cache
def sdk_import_seconds() -> float:
    """The baseline: the best of COLD_RUNS cold imports of the four SDKs."""
    return min(_cold("-c", f"import {', '.join(SDKS)}") for _ in range(COLD_RUNS))


def cold_plan_measurements() -> list[Measurement]:
    """`python -m stacks.plan` (all four stacks, as `make plan` runs it) in a cold process."""
    plan = min(_cold("-m", "stacks.plan") for _ in range(COLD_RUNS))
    return [
        Measurement(
            "offline plan, all 4 stacks (cold process)",
            plan,
            "import the 4 Pulumi SDKs (cold)",
            sdk_import_seconds(),
        )
    ]


def _pytest(*arguments: str) -> float:
    command = [sys.executable, "-m", "pytest", "-q", *arguments]
    environ = {**os.environ, "COLUMNS": "200"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 5):
        tail = "\n".join(done.stdout.splitlines()[-5:])
        raise RuntimeError(f"pytest {' '.join(arguments)} failed:\n{tail}")
    return elapsed


def test_suite_measurements() -> list[Measurement]:
    """The whole suite against its fixed cost (interpreter, imports, collection)."""
    collect = _pytest("--collect-only")
    suite = _pytest()
    return [
        Measurement("full test suite (pytest, wall)", suite, "pytest --collect-only", collect),
        Measurement(
            "full test suite (pytest, wall)", suite, "import the 4 Pulumi SDKs (cold)", sdk_import_seconds()
        ),
    ]
