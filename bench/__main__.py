"""`python -m bench`: one table of ratios, each measured against its baseline in the same run.

Add a row source by appending a function returning `list[Measurement]` to SOURCES.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from rich.table import Table

from bench.install_footprint import install_measurements
from bench.measurement import Measurement
from bench.ml import ml_measurements
from bench.monitoring import drift_measurements
from bench.platform import cold_plan_measurements, plan_measurements, test_suite_measurements
from stacks.console import cli_console

SOURCES: list[Callable[[], list[Measurement]]] = [
    plan_measurements,
    cold_plan_measurements,
    ml_measurements,
    drift_measurements,
    test_suite_measurements,
    install_measurements,
]


def render(rows: list[Measurement], seconds: float, load: float) -> Table:
    # Other processes skew the ratios: the load average says how busy the machine was.
    table = Table(title=f"make bench ({seconds:.0f} s, load average {load:.1f} at the end)")
    for column, justify in (
        ("measurement", "left"),
        ("value", "right"),
        ("baseline", "left"),
        ("baseline value", "right"),
        ("ratio", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            row.name,
            f"{row.value:.3g} {row.unit}",
            row.baseline_name,
            f"{row.baseline:.3g} {row.unit}",
            f"{row.ratio:.2f}x",
        )
    return table


def main() -> None:
    logging.getLogger("iris_mlops").setLevel(logging.WARNING)  # the table is the output
    console = cli_console()
    started = time.perf_counter()
    rows = [row for source in SOURCES for row in source()]
    console.print(render(rows, time.perf_counter() - started, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
