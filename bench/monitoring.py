"""The monitoring job's step on 1M scored rows, against reading those rows alone with deltalake.

The step reads the inference table, the feature table and the champion, computes PSI and KS per
feature and the prediction shares, and writes the drift table; the baseline is only
`DeltaTable(path).to_pandas()` of the same inference table. Drift, if found, starts nothing here.
"""

from __future__ import annotations

from pathlib import Path

from deltalake import DeltaTable
from iris_mlops.data import PREDICTIONS_TABLE
from iris_mlops.project import PROJECT as IRIS
from iris_mlops.samples import new_samples
from mlops_framework.backends import select_backend
from mlops_framework.backends.local import LocalBackend
from mlops_framework.context import TaskContext
from mlops_framework.params import TaskParameters
from mlops_framework.retrain import RetrainRequest, RetrainStart
from mlops_framework.steps.monitor import monitor
from mlops_framework.vocabulary import CHAMPION

from bench.local_state import best_of, local_home, timed, trained_home
from bench.measurement import Measurement

SCORED_ROWS = 1_000_000


class NoRetrain:
    def start(self, request: RetrainRequest) -> RetrainStart:
        return RetrainStart(False, "", "bench: no retrain")


def monitoring_measurements(home: Path) -> list[Measurement]:
    """Needs a trained home (a champion and the feature table)."""
    backend = LocalBackend(home)
    ctx = TaskContext.create("monitor", TaskParameters(), select_backend(), IRIS)
    champion = ctx.alias_version(CHAMPION)
    assert champion is not None  # noqa: S101 - the caller trained first
    source = ctx.table("bench_incoming")
    backend.merge_rows(source, new_samples(SCORED_ROWS, seed=3), ("sample_id",), {})
    target = ctx.table(PREDICTIONS_TABLE)
    backend.score_table(ctx.model_uri(champion), champion.version, source, target, {}, project=ctx.project)
    path = str(backend.table_path(target))
    read_only = best_of(lambda: DeltaTable(path).to_pandas())
    step = timed(lambda: monitor(ctx, NoRetrain()))
    rows = DeltaTable(path).count()
    return [
        Measurement(f"monitoring step, {rows:,} scored rows", step, "deltalake read of those rows", read_only)
    ]


def drift_measurements() -> list[Measurement]:
    """In a throwaway home of its own: train once, then measure."""
    with local_home() as home:
        trained_home()
        return monitoring_measurements(home)
