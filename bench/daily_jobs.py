"""The daily jobs as history grows: one batch inference and one monitoring run on day N of a
synthetic project that adds 100k rows a day, for N = 1, 7 and 30 days of history (issue 30).

The history is written straight into Delta tables, one append a day as the jobs write it: the
feature table (each day's rows stamped `updated_at` at that day's start, labelled by the champion),
the predictions of the days before N (scored at 04:00 each day, with the champion's watermark),
so only day N's run is measured. Rows are the day-N run against the day-1 run of the same job in
this run of the bench, in rounds (the median of the rounds' ratios): the goal is at most 1.2x (a
daily job costs one day of data). Locally the jobs are the steps themselves (deltalake); on Spark
see bench/spark_daily.py (`make bench-spark`).
"""

from __future__ import annotations

import shutil
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from deltalake import write_deltalake
from iris_mlops.data import LABEL_COLUMN
from iris_mlops.project import PROJECT as IRIS
from iris_mlops.samples import new_samples
from mlops_framework.backends.local import LocalBackend
from mlops_framework.backends.local_delta import TABLE_PROPERTIES
from mlops_framework.context import TaskContext
from mlops_framework.incremental import WATERMARK_KEYS, ScoredBatch, watermark_row
from mlops_framework.params import TaskParameters
from mlops_framework.project import ProjectSpec
from mlops_framework.retrain import RetrainRequest, RetrainStart
from mlops_framework.scoring import prediction_rows
from mlops_framework.steps.batch_inference import batch_inference
from mlops_framework.steps.monitor import monitor
from mlops_framework.vocabulary import UPDATED_AT_COLUMN, Tables

from bench.local_state import local_home, timed, trained_home
from bench.measurement import Measurement

ROWS_PER_DAY = 100_000
HISTORY_DAYS = (1, 7, 30)
# Rounds of the day-N runs (a rerun the same day finds nothing new, so each round starts from a
# copy of the history: LocalHistories): one run each is noise on a shared 2-core machine.
LOCAL_ROUNDS = 7
FIRST_DAY = datetime(2031, 3, 1, tzinfo=UTC)
CHAMPION_URI = "models:/main.iris.iris_classifier@champion"
SCORING_HOUR = timedelta(hours=4)  # job_graph.toml: batch inference 04:00 UTC, monitoring 05:00
MONITORING_HOUR = timedelta(hours=5)


class NoRetrain:
    def start(self, request: RetrainRequest) -> RetrainStart:
        return RetrainStart(False, "", "bench: no retrain")


@dataclass(frozen=True)
class DayRows:
    features: pd.DataFrame  # key, features, label (the champion's), updated_at
    predictions: pd.DataFrame  # as batch inference writes them


def day_rows(project: ProjectSpec, model: Any, day: int, version: str) -> DayRows:
    """Day `day`'s new flowers (keys of their own), stamped at its start, and their predictions
    as that day's 04:00 run writes them."""
    start = FIRST_DAY + timedelta(days=day)
    samples = new_samples(ROWS_PER_DAY, seed=day, first_key=day * ROWS_PER_DAY)
    predicted = list(model.predict(project.features_of(samples)))  # the pyfunc model of the champion
    features = samples.assign(**{LABEL_COLUMN: [str(label) for label in predicted]})
    features[UPDATED_AT_COLUMN] = pd.Timestamp(start)
    features = features.astype({UPDATED_AT_COLUMN: "datetime64[us, UTC]"})
    return DayRows(features, prediction_rows(project, samples, predicted, version, start + SCORING_HOUR))


def bench_project(name: str) -> ProjectSpec:
    """Tables of their own per history size (and for the warm-up)."""
    return replace(IRIS, tables=Tables.prefixed(f"bench_{name}"))


def write_local_history(backend: LocalBackend, project: ProjectSpec, days: int) -> TaskContext:
    """`days` days of features, and the predictions of all but the last (which the bench runs);
    the context of the jobs of day `days`. One commit a day per table, as the jobs make, and the
    tables' properties those jobs create them with (a checkpoint every 10 commits)."""
    ctx = TaskContext.create("bench", TaskParameters(), backend, project)
    model = mlflow.pyfunc.load_model(CHAMPION_URI)
    version = str(ctx.alias_version("champion").version)  # type: ignore[union-attr]
    for day in range(days):
        rows = day_rows(project, model, day, version)
        features = str(backend.table_path(ctx.table(project.tables.features)))
        write_deltalake(features, rows.features, mode="append", configuration=TABLE_PROPERTIES)
        if day < days - 1:
            predictions = str(backend.table_path(ctx.table(project.tables.predictions)))
            write_deltalake(predictions, rows.predictions, mode="append", configuration=TABLE_PROPERTIES)
            scored = ScoredBatch(ROWS_PER_DAY, FIRST_DAY + timedelta(days=day))
            mark = watermark_row(version, scored, FIRST_DAY + timedelta(days=day) + SCORING_HOUR)
            backend.merge_rows(ctx.table(project.tables.watermarks), mark, WATERMARK_KEYS, {})
    return ctx


def daily_runs(ctx: TaskContext, days: int) -> tuple[float, float]:
    """Seconds of day `days`'s batch inference, then of its monitoring run; NaN for a run that
    failed (said on stderr): a job that cannot run at that size is a figure too."""
    day = FIRST_DAY + timedelta(days=days - 1)
    return (
        timed_or_nan(f"batch inference, day {days}", lambda: batch_inference(ctx, now=day + SCORING_HOUR)),
        timed_or_nan(f"monitoring, day {days}", lambda: monitor(ctx, NoRetrain(), now=day + MONITORING_HOUR)),
    )


def timed_or_nan(what: str, action: Callable[[], object]) -> float:
    try:
        return timed(action)
    except Exception as error:  # noqa: BLE001 - reported, the other sizes still run
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"{what} failed: {type(error).__name__}: {first[:300]}", file=sys.stderr, flush=True)
        return float("nan")


def ratio_rows(where: str, seconds: dict[int, list[tuple[float, float]]]) -> list[Measurement]:
    """Day N against day 1, per job: the medians of the rounds' seconds, and the median of the
    rounds' ratios (each round's day N and day 1 ran minutes apart, under the same load)."""
    rows = []
    for job, index in (("batch inference", 0), ("monitoring", 1)):
        baseline = [runs[index] for runs in seconds[1]]
        for days in HISTORY_DAYS[1:]:
            value = [runs[index] for runs in seconds[days]]
            rows.append(
                Measurement(
                    f"{where}: daily {job}, {days} days x {ROWS_PER_DAY:,} rows of history"
                    f" (median of {len(value)} rounds)",
                    statistics.median(value),
                    "the same job, 1 day of history",
                    statistics.median(baseline),
                    median_of_rounds=statistics.median(v / b for v, b in zip(value, baseline, strict=True)),
                )
            )
    return rows


def measure_each(
    build: Callable[[int, int], TaskContext], where: str, rounds: int
) -> dict[int, list[tuple[float, float]]]:
    """`build(days, round)` each history, then time its day, `rounds` times; progress on stderr
    (the table is the output)."""
    # One unmeasured day first (round 0): the first run of a process (or a JVM) warms caches the
    # others reuse.
    daily_runs(build(1, 0), 1)
    seconds: dict[int, list[tuple[float, float]]] = {days: [] for days in HISTORY_DAYS}
    for round_ in range(1, rounds + 1):
        for days in HISTORY_DAYS:
            print(
                f"{where}: round {round_}, {days} days x {ROWS_PER_DAY:,} rows", file=sys.stderr, flush=True
            )
            scoring, monitoring = daily_runs(build(days, round_), days)
            seconds[days].append((scoring, monitoring))
            print(
                f"{where}: round {round_}, day {days}: "
                f"batch inference {scoring:.2f} s, monitoring {monitoring:.2f} s",
                file=sys.stderr,
                flush=True,
            )
    return seconds


class LocalHistories:
    """Each history written once; each later round starts from a copy of the tables the jobs
    write as they were before the first round's run (the feature table is only read), so every
    round measures the same day-N run from the same state."""

    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend
        self.built: dict[int, TaskContext] = {}

    def _written(self, ctx: TaskContext) -> list[Path]:
        tables = ctx.project.tables
        names = [getattr(tables, field.name) for field in fields(tables) if field.name != "features"]
        return [self.backend.table_path(ctx.table(name)) for name in names]

    def build(self, days: int, round_: int) -> TaskContext:
        if round_ == 0:
            return write_local_history(self.backend, bench_project("warmup"), days)
        if days not in self.built:
            ctx = write_local_history(self.backend, bench_project(f"{days}days"), days)
            for table in self._written(ctx):
                if table.exists():
                    shutil.copytree(table, table.with_name(f"{table.name}.saved"))
            self.built[days] = ctx
            return ctx
        ctx = self.built[days]
        for table in self._written(ctx):
            shutil.rmtree(table, ignore_errors=True)
            saved = table.with_name(f"{table.name}.saved")
            if saved.exists():
                shutil.copytree(saved, table)
        return ctx


def daily_job_measurements() -> list[Measurement]:
    with local_home() as home:
        trained_home()
        backend = LocalBackend(home)
        where = "local (deltalake)"
        seconds = measure_each(LocalHistories(backend).build, where, LOCAL_ROUNDS)
    return ratio_rows(where, seconds)
