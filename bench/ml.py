"""ML wheel benchmarks: batch inference, local serving (bench/serving_load.py), the local training job.

Everything runs against a throwaway MLOPS_HOME, so the real `.local/` is never touched.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from iris_mlops.data import FEATURE_COLUMNS, KEY_COLUMN, load_iris_frame
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.backends.local import LocalBackend
from mlops_framework.job_graph import load_job_graph
from mlops_framework.runner import Isolation, run_job

from bench.local_state import best_of, local_home, timed
from bench.measurement import Measurement
from bench.serving_load import serving_measurements

BATCH_ROWS = 100_000
REQUESTS = 300
WARMUP_REQUESTS = 20
MODEL = "main.iris.iris_classifier"


def training_job(home: Path) -> Measurement:
    """Wall time of the training job in-process vs one process per task (as on Databricks)."""
    job = load_job_graph(IRIS.package).job("training")
    in_process = timed(lambda: run_job(job, isolation=Isolation.IN_PROCESS, project=IRIS))
    with local_home():
        per_process = timed(lambda: run_job(job, isolation=Isolation.PROCESS, project=IRIS))
    return Measurement("training job, in-process runner", in_process, "one process per task", per_process)


def new_samples(rows: int, seed: int = 0) -> pd.DataFrame:
    """Iris measurements resampled with a little noise: `rows` plausible new flowers."""
    rng = np.random.default_rng(seed)
    iris = load_iris_frame()
    picked = iris.iloc[rng.integers(0, len(iris), rows)].reset_index(drop=True)
    features = picked.loc[:, list(FEATURE_COLUMNS)] + rng.normal(0, 0.05, (rows, len(FEATURE_COLUMNS)))
    features.insert(0, KEY_COLUMN, np.arange(rows, dtype="int64"))
    return features


def batch_inference(home: Path) -> list[Measurement]:
    """Two rows on the same 100k rows, both against raw sklearn predict:
    - pyfunc scoring alone (what the pyfunc layer costs: schema enforcement, conversion);
    - the local batch scorer end to end (Delta read, model load, pyfunc, Delta merge)."""
    backend = LocalBackend(home)
    backend.configure_mlflow()
    samples = new_samples(BATCH_ROWS)
    backend.merge_rows("main.bench.samples", samples, (KEY_COLUMN,), {})
    uri = f"models:/{MODEL}@champion"
    raw = mlflow.sklearn.load_model(uri)
    pyfunc = mlflow.pyfunc.load_model(uri)
    features = samples.loc[:, list(FEATURE_COLUMNS)]
    baseline = best_of(lambda: raw.predict(features))
    scoring = best_of(lambda: pyfunc.predict(features))
    end_to_end = timed(
        lambda: backend.score_table(uri, "1", "main.bench.samples", "main.bench.scored", {}, project=IRIS)
    )
    return [
        Measurement(f"pyfunc predict only, {BATCH_ROWS:,} rows", scoring, "raw model.predict", baseline),
        Measurement(
            f"batch inference end to end (Delta in/out), {BATCH_ROWS:,} rows",
            end_to_end,
            "raw model.predict",
            baseline,
        ),
    ]


def ml_measurements() -> list[Measurement]:
    with local_home() as home:
        rows = [training_job(home), *batch_inference(home)]
        rows += serving_measurements(home)
    return rows
