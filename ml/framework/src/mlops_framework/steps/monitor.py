"""Monitor: the window's scored data against the champion's training data; drift starts a retrain.

The window is the current UTC day ([00:00, 24:00), WINDOW_HOURS), the day the batch inference
job scored (job_graph.toml schedules monitoring after it). The reference is the champion's
training data: the train split of the feature table (ProjectSpec.split_holdout), what train.py fits on.
Both are read bounded: the window's filter is pushed into the read, and above EXACT_MAX_ROWS rows
the comparison runs on fixed-size summaries (window_drift; the reference's logged by training).
Results: one row per window and feature in the drift table, with the champion's version; a rerun
in the same window replaces its rows. Drift on any feature (drift.py) starts the training job once
per window (retrain.py): the retrains table records it, and the trigger itself refuses a second run.
Scored data is the batch inference table and, locally, the requests `iris-mlops serve` answered
(served_log.py, the served requests table). A Databricks endpoint's requests are in its inference
table as raw JSON, not read here yet (docs/ml.md, "Drift").
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import mlflow
import pandas as pd

from ..context import RegisteredVersion, TaskContext
from ..drift import DriftThresholds, FeatureDrift, compare, summary
from ..drift_reference import champion_profile, reference_rows
from ..errors import MissingStateError
from ..retrain import RetrainRequest, RetrainStart, RetrainTrigger
from ..steps.approve import GATE_STATUS_TAG
from ..vocabulary import CHALLENGER, CHAMPION, PREDICTION_COLUMN, SCORED_AT_COLUMN
from ..window_stats import EXACT_MAX_ROWS, Summary, WindowRequest, compare_summaries, summarize_frame

WINDOW_HOURS = 24
DRIFT_KEYS = ("window_id", "feature")
RETRAIN_KEYS = ("window_id",)


def thresholds(ctx: TaskContext) -> DriftThresholds:
    """The task's thresholds: on Databricks the platform passes its environment's (model.drift.*)."""
    params = ctx.params
    return DriftThresholds(
        psi=params.drift_psi_threshold, p_value=params.drift_p_value, min_rows=params.drift_min_rows
    )


def current_window(now: datetime) -> tuple[datetime, datetime, str]:
    """The window holding `now`: fixed WINDOW_HOURS buckets from the epoch, so every run in it
    names it alike (what makes a retrain idempotent by window)."""
    size = timedelta(hours=WINDOW_HOURS)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start = epoch + ((now.astimezone(UTC) - epoch) // size) * size
    return start, start + size, f"{start:%Y-%m-%dT%H:%MZ}/{WINDOW_HOURS}h"


def scored_tables(ctx: TaskContext) -> tuple[str, ...]:
    """Where scored rows are: the batch inference table, and locally the served requests table
    (a Databricks endpoint's requests are in its inference table, not unpacked yet)."""
    tables = ctx.project.tables
    if ctx.backend.name == "local":
        return (tables.predictions, tables.served)
    return (tables.predictions,)


def scored_in(ctx: TaskContext, start: datetime, end: datetime) -> pd.DataFrame:
    """Rows scored in [start, end), batch and served alike; a table not there yet adds none."""
    columns = [*ctx.project.feature_columns, PREDICTION_COLUMN, SCORED_AT_COLUMN]
    rows = scored_window(ctx, start, end, WindowRequest(columns, max_rows=None))
    assert isinstance(rows, pd.DataFrame)  # noqa: S101 - max_rows=None asks for the rows
    return rows


def scored_window(
    ctx: TaskContext, start: datetime, end: datetime, request: WindowRequest
) -> pd.DataFrame | Summary:
    tables = [ctx.table(table) for table in scored_tables(ctx)]
    return ctx.backend.scored_window(tables, SCORED_AT_COLUMN, start, end, request)


def window_drift(
    ctx: TaskContext, champion: RegisteredVersion, start: datetime, end: datetime, limits: DriftThresholds
) -> tuple[list[FeatureDrift], int, int]:
    """The window's drift against the champion's training data, and both row counts. Exact
    (drift.py, on the rows) when the window and the whole feature table have at most
    EXACT_MAX_ROWS rows; from bounded summaries otherwise (window_stats.py): the window's computed
    where its rows are, the reference's the one its training logged (drift_reference.py)."""
    reference = champion_profile(ctx, champion)
    columns = [*ctx.project.feature_columns, PREDICTION_COLUMN]
    classes = list(reference.summary.classes)
    request = WindowRequest(columns, reference.edges, classes, EXACT_MAX_ROWS)
    window = scored_window(ctx, start, end, request)
    features = ctx.table(ctx.project.tables.features)
    if isinstance(window, pd.DataFrame) and ctx.backend.count_rows(features) <= EXACT_MAX_ROWS:
        rows, numeric, categorical = reference_rows(ctx, champion)
        return compare(rows, window, numeric, categorical, limits), len(window), len(rows)
    if isinstance(window, pd.DataFrame):
        window = summarize_frame(window, reference.edges, classes)
    return compare_summaries(reference, window, limits), window.rows, reference.rows


def drift_rows(
    results: list[FeatureDrift],
    window: tuple[datetime, datetime, str],
    champion_version: str,
    limits: DriftThresholds,
    computed_at: datetime,
) -> pd.DataFrame:
    start, end, window_id = window
    rows = pd.DataFrame([asdict(result) for result in results])
    rows = rows.astype({"psi": "float64", "statistic": "float64", "p_value": "float64"})
    rows["status"] = rows["status"].astype(str)
    rows.insert(0, "window_id", window_id)
    rows.insert(1, "window_start", pd.Timestamp(start))
    rows.insert(2, "window_end", pd.Timestamp(end))
    rows["champion_version"] = champion_version
    rows["psi_threshold"] = limits.psi
    rows["p_value_threshold"] = limits.p_value
    rows["computed_at"] = pd.Timestamp(computed_at)
    return rows.astype({"reference_rows": "int64", "window_rows": "int64"})


def earlier_retrain(ctx: TaskContext, window_id: str) -> str | None:
    """What a retrain already started for this window says, if one did."""
    try:
        retrains = ctx.backend.read_table(ctx.table(ctx.project.tables.retrains))
    except MissingStateError:
        return None
    started = retrains[(retrains["window_id"] == window_id) & retrains["started"].astype(bool)]
    return None if started.empty else str(started["detail"].iloc[0])


def default_trigger(ctx: TaskContext) -> RetrainTrigger:
    if ctx.backend.name == "databricks":
        from databricks.sdk import WorkspaceClient  # noqa: PLC0415 - seconds of imports, Databricks only

        from ..retrain import DatabricksTrigger  # noqa: PLC0415

        if ctx.params.training_job_name is None:
            raise MissingStateError(
                "on Databricks --training_job_name must be given: the job a drift alert starts"
            )
        return DatabricksTrigger(WorkspaceClient(), ctx.params.training_job_name)
    from ..backends.local import HOME_ENV_VAR, LocalBackend  # noqa: PLC0415
    from ..retrain import LocalTrigger  # noqa: PLC0415

    assert isinstance(ctx.backend, LocalBackend)  # noqa: S101 - the two backends are all there is
    return LocalTrigger(ctx.backend.home, HOME_ENV_VAR, project_cli=ctx.project.cli)


def _scope(ctx: TaskContext) -> tuple[str, ...]:
    params = ctx.params
    scope = {"env": params.env, "catalog": params.catalog, "schema": params.schema}
    scope |= {"model_name": params.model_name, "experiment_name": params.resolved_experiment_name}
    return tuple(f"--{key}={value}" for key, value in scope.items())


def _retrain(ctx: TaskContext, window_id: str, drift: str, trigger: RetrainTrigger | None) -> str:
    if (before := earlier_retrain(ctx, window_id)) is not None:
        return f"a retrain for window {window_id} was already started ({before}): no second run"
    request = RetrainRequest(ctx.model_name, window_id, drift, _scope(ctx))
    started: RetrainStart = (trigger or default_trigger(ctx)).start(request)
    record = pd.DataFrame(
        [
            {
                "window_id": window_id,
                "model_name": ctx.model_name,
                "started": started.started,
                "run": started.run,
                "detail": started.detail,
                "drift_summary": drift,
                "requested_at": pd.Timestamp(ctx.now()),
            }
        ]
    )
    ctx.backend.merge_rows(ctx.table(ctx.project.tables.retrains), record, RETRAIN_KEYS, ctx.provenance)
    if not started.started or ctx.backend.name == "databricks":
        return started.detail
    challenger, champion = ctx.alias_version(CHALLENGER), ctx.alias_version(CHAMPION)
    verdict = challenger.tags.get(GATE_STATUS_TAG, "not gated") if challenger is not None else "no challenger"
    kept = champion.version if champion is not None else "none"
    return (
        f"{started.detail}; the gate on challenger v{challenger.version if challenger else '?'}: "
        f"{verdict}; champion v{kept}"
    )


def monitor(ctx: TaskContext, trigger: RetrainTrigger | None = None, now: datetime | None = None) -> str:
    champion = ctx.alias_version(CHAMPION)
    if champion is None:
        raise MissingStateError(f"{ctx.model_name} has no {CHAMPION!r} alias yet: run the training job first")
    limits = thresholds(ctx)
    computed_at = now or ctx.now()
    window = current_window(computed_at)
    results, window_rows, reference_rows_ = window_drift(ctx, champion, window[0], window[1], limits)
    rows = drift_rows(results, window, champion.version, limits, computed_at)
    ctx.backend.merge_rows(ctx.table(ctx.project.tables.drift), rows, DRIFT_KEYS, ctx.provenance)
    drifted = [result for result in results if result.drifted]
    with ctx.run():
        mlflow.log_params({"window_id": window[2], "champion_version": champion.version})
        mlflow.log_metrics(
            {
                "window_rows": window_rows,
                "features_drifted": len(drifted),
                "max_psi": float(rows["psi"].max()),
            }
            if rows["psi"].notna().any()
            else {"window_rows": window_rows, "features_drifted": 0}
        )
    seen = f"window {window[2]}: {window_rows} scored rows vs {reference_rows_} training rows"
    if not drifted:
        short = [r.feature for r in results if r.status == "not_enough_data"]
        state = f"not enough data (fewer than {limits.min_rows} rows)" if short else "no drift"
        return f"{seen}: {state}; nothing triggered"
    text = json.dumps(summary(results, window[2], champion.version), sort_keys=True)
    names = ", ".join(r.feature for r in drifted)
    return f"{seen}: drift in {names}; {_retrain(ctx, window[2], text, trigger)}"
