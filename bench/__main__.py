"""`python -m bench`: one table of ratios, each measured against its baseline in the same run.

Add a row source by appending a function returning `list[Measurement]` to SOURCES.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from mlops_framework.logs import LOGGER_NAME

from bench.daily_jobs import daily_job_measurements
from bench.install_footprint import install_measurements
from bench.measurement import Measurement, render
from bench.ml import ml_measurements
from bench.monitoring import drift_measurements
from bench.platform import cold_plan_measurements, plan_measurements, test_suite_measurements
from stacks.console import cli_console

SOURCES: list[Callable[[], list[Measurement]]] = [
    plan_measurements,
    cold_plan_measurements,
    ml_measurements,
    drift_measurements,
    daily_job_measurements,
    test_suite_measurements,
    install_measurements,
]


def main() -> None:
    logging.getLogger(LOGGER_NAME).setLevel(logging.WARNING)  # the table is the output
    console = cli_console()
    started = time.perf_counter()
    rows = [row for source in SOURCES for row in source()]
    console.print(render(rows, time.perf_counter() - started, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
