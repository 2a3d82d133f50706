"""The drift loop, as `make demo` shows it: an unshifted batch starts nothing; a shifted one is
measured, alerts, and retrains through the gate, once per window.

It runs in a home of its own (`<home>/drift`, recreated each time), so the figures repeat: a first
champion is trained with C=0.1, the batch inference job scores the Iris table (unshifted), the
monitoring job finds no drift. Then a seeded batch of new flowers with petals 30 % longer and wider
is scored by the champion into the same day's window; the monitoring job finds the drift and starts
the training job (default C=1.0), whose gate judges the challenger as always. A second monitoring
run in the same window starts nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from deltalake import DeltaTable
from iris_mlops.data import DRIFT_TABLE, KEY_COLUMN, PREDICTIONS_TABLE, RETRAINS_TABLE
from iris_mlops.project import PROJECT as IRIS
from iris_mlops.samples import new_samples
from mlflow import MlflowClient
from mlops_framework.backends.local import LocalBackend
from mlops_framework.params import TaskParameters
from mlops_framework.steps.approve import GATE_STATUS_TAG
from mlops_framework.vocabulary import CHAMPION
from rich.console import Group
from rich.table import Table

from demo.job_env import JobEnvironment
from demo.stage_runner import StageError, StageResult

DEFAULTS = TaskParameters()
MODEL = f"{DEFAULTS.catalog}.{DEFAULTS.schema}.{DEFAULTS.model_name}"
SCOPE = ("--env=dev",)
SHIFT = {"petal_length_cm": 1.3, "petal_width_cm": 1.3}
SHIFTED_ROWS = 400
SEED = 17
INCOMING = f"{DEFAULTS.catalog}.{DEFAULTS.schema}.incoming_shifted"


def _table(home: Path, name: str) -> DeltaTable:
    return DeltaTable(str(LocalBackend(home).table_path(f"{DEFAULTS.catalog}.{DEFAULTS.schema}.{name}")))


def _champion_and_gate(home: Path) -> tuple[str, str, str]:
    uri = LocalBackend(home).tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    newest = max(client.search_model_versions(f"name='{MODEL}'"), key=lambda v: int(v.version))
    champion = client.get_model_version_by_alias(MODEL, CHAMPION)
    return str(champion.version), str(newest.version), newest.tags.get(GATE_STATUS_TAG, "not gated")


def score_shifted_batch(home: Path) -> int:
    """The wheel's own batch scorer on a seeded, shifted batch, as the champion scores it."""
    backend = LocalBackend(home)
    backend.configure_mlflow()
    champion, _, _ = _champion_and_gate(home)
    batch = new_samples(SHIFTED_ROWS, seed=SEED, scale=SHIFT, first_key=100_000)
    backend.merge_rows(INCOMING, batch, (KEY_COLUMN,), {"source": "make demo, shifted batch"})
    target = f"{DEFAULTS.catalog}.{DEFAULTS.schema}.{PREDICTIONS_TABLE}"
    return backend.score_table(f"models:/{MODEL}/{champion}", champion, INCOMING, target, {}, project=IRIS)


def drift_table(home: Path, top: int = 5) -> Table:
    rows = _table(home, DRIFT_TABLE).to_pandas().sort_values("psi", ascending=False, na_position="last")
    window = rows["window_id"].iloc[0]
    table = Table(
        "feature",
        "PSI",
        "KS D / chi2",
        "p-value",
        "status",
        "rows (window/ref)",
        title=f"drift, window {window}",
    )
    for row in rows.head(top).itertuples():
        style = "bold red" if row.status == "drift" else "green"
        table.add_row(
            str(row.feature),
            f"{row.psi:.3f}",
            f"{row.statistic:.3f}",
            f"{row.p_value:.3g}",
            f"[{style}]{row.status}[/]",
            f"{row.window_rows}/{row.reference_rows}",
        )
    return table


def drift_loop(environment: JobEnvironment, root: Path) -> StageResult:
    home = environment.home / "drift"
    shutil.rmtree(home, ignore_errors=True)
    job_env = JobEnvironment(environment.venv, home)
    steps = Table("step", "then", title=f"drift loop on {MODEL} (dev-like, home {home.name}/)")

    def run(label: str, arguments: list[str]) -> None:
        done = job_env.run(arguments, cwd=root)
        if done.returncode != 0:
            raise StageError(f"`{' '.join(arguments)}` failed:\n{(done.stdout + done.stderr)[-1500:]}")
        champion, newest, gate = _champion_and_gate(home)
        steps.add_row(label, f"champion v{champion}; newest v{newest} gate {gate}")

    run("a champion of its own (C=0.1)", ["iris-mlops", "run", "training", *SCOPE, "--regularization=0.1"])
    run("batch inference (unshifted Iris)", ["iris-mlops", "run", "batch-inference", *SCOPE])
    run("monitoring", ["iris-mlops", "run", "monitoring", *SCOPE])
    if DeltaTable.is_deltatable(str(LocalBackend(home).table_path(f"main.iris.{RETRAINS_TABLE}"))):
        raise StageError("the unshifted batch started a retrain: it must start nothing")
    steps.add_row("", "unshifted: no drift, nothing triggered")
    calm = drift_table(home)
    scored = score_shifted_batch(home)
    steps.add_row(f"score {scored} new flowers, petals x1.3 (seed {SEED})", "into the same day's window")
    run("monitoring (drift: starts the training job)", ["iris-mlops", "run", "monitoring", *SCOPE])
    shifted = drift_table(home)
    retrains = _table(home, RETRAINS_TABLE).to_pandas()
    if len(retrains) != 1:
        raise StageError(f"expected one retrain for the shifted window, found {len(retrains)}")
    run("monitoring again, same window", ["iris-mlops", "run", "monitoring", *SCOPE])
    if len(_table(home, RETRAINS_TABLE).to_pandas()) != 1:
        raise StageError("a repeated alert in the same window started a second retrain")
    champion, newest, gate = _champion_and_gate(home)
    summary = (
        f"unshifted batch: nothing triggered; shifted batch: drift in "
        f"{', '.join(shifted_features(home))}, retrain v{newest} gate {gate}, champion v{champion}; "
        "the repeated alert started no second run"
    )
    return StageResult(summary, Group(calm, shifted, steps), {"gate": gate, "champion": champion})


def shifted_features(home: Path) -> list[str]:
    rows = _table(home, DRIFT_TABLE).to_pandas()
    return sorted(rows.loc[rows["status"] == "drift", "feature"])
