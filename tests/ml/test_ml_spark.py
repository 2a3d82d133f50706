"""The Databricks backend's Spark code on real local Spark 4.0 (the Spark tier: `make test-spark`).

Each test runs on a Spark Connect session (what a serverless job has) and on a classic one (a job
cluster); only Delta's own operations are stood in for (spark_support.py says which and why).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from iris_mlops.data import FEATURE_COLUMNS, KEY_COLUMN, load_iris_frame
from iris_mlops.project import PROJECT as IRIS
from mlflow import MlflowClient
from mlops_framework.backends import databricks_scoring
from mlops_framework.backends.databricks import (
    TABLE_NOT_FOUND,
    DatabricksBackend,
    error_condition,
    user_metadata,
)
from mlops_framework.backends.databricks_incremental import changed_rows
from mlops_framework.context import TaskContext
from mlops_framework.drift import compare
from mlops_framework.errors import MissingStateError, StateError
from mlops_framework.incremental import WATERMARK_KEYS, ScoredBatch, last_watermark, watermark_row
from mlops_framework.params import TaskParameters
from mlops_framework.scoring import prediction_rows
from mlops_framework.spark_stats import RELATIVE_ERROR
from mlops_framework.steps.monitor import current_window, earlier_retrain, scored_in
from mlops_framework.vocabulary import PREDICTION_COLUMN, SCORED_ON_COLUMN, UPDATED_AT_COLUMN, VERSION_COLUMN
from mlops_framework.window_stats import Summary, WindowRequest, compare_summaries, reference_profile
from spark_support import SESSION_KINDS, DeltaStandIn, local_session, stand_in_delta_writes
from test_ml_monitor_window import KS_GRID_ERROR, LIMITS, drifting_pair

# pyspark is in the tier's venv only (make test-spark); `make test` deselects the marker.
pytestmark = pytest.mark.spark

CATALOG = "spark_catalog"  # the local session catalog takes three-part names, as Unity Catalog does
CHAMPION_URI = "models:/main.iris.iris_classifier@champion"  # what the `trained` fixture registers
METADATA = {"iris_mlops_task": "spark-tier", "iris_mlops_note": "it's quoted"}


@pytest.fixture(scope="module", params=SESSION_KINDS)
def session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DeltaStandIn]:
    with local_session(request.param, tmp_path_factory.mktemp(f"warehouse-{request.param}")) as spark:
        yield DeltaStandIn(spark, request.param)


@pytest.fixture
def schema(session: DeltaStandIn, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A schema of its own (Pulumi creates it on Databricks), and Delta's writes stood in for."""
    name = re.sub(r"\W+", "_", request.node.name.removeprefix("test_"))[:60]
    session.spark.sql(f"CREATE DATABASE IF NOT EXISTS {name}")
    stand_in_delta_writes(monkeypatch, session)
    return name


def backend_on(session: DeltaStandIn) -> DatabricksBackend:
    return DatabricksBackend(spark=session)  # type: ignore[arg-type] - the real session behind it


def monitor_context(session: DeltaStandIn, schema: str) -> TaskContext:
    """The monitor's context without `configure_mlflow` (which would point MLflow at Databricks);
    its client is the session store's, which the `trained` fixture has set up."""
    params = TaskParameters(catalog=CATALOG, schema=schema)
    return TaskContext(
        task="monitor", params=params, backend=backend_on(session), client=MlflowClient(), project=IRIS
    )


def raised_by(action: Any) -> BaseException:
    with pytest.raises(Exception) as raised:  # noqa: PT011 - pyspark's classes differ per session kind
        action()
    return raised.value


def test_a_missing_table_is_table_or_view_not_found_and_none_yet_for_the_monitor(
    trained: Path, session: DeltaStandIn, schema: str
) -> None:
    name = f"{CATALOG}.{schema}.never_written"
    if session.kind == "connect":  # analysed at the first action, as on a serverless job
        frame = session.spark.table(name)
        error = raised_by(frame.toPandas)
    else:  # a classic session analyses at once
        error = raised_by(lambda: session.spark.table(name))
    assert error_condition(error) == TABLE_NOT_FOUND
    with pytest.raises(MissingStateError, match="does not exist yet"):
        backend_on(session).read_table(name)
    ctx = monitor_context(session, schema)
    assert earlier_retrain(ctx, "2031-03-01T00:00Z/24h") is None
    start, end, _ = current_window(datetime.now(UTC))
    assert scored_in(ctx, start, end).empty


def test_rows_merge_on_their_keys_with_provenance_and_a_wrong_key_fails_in_the_analyser(
    session: DeltaStandIn, schema: str
) -> None:
    backend, table = backend_on(session), f"{CATALOG}.{schema}.features"
    frame = load_iris_frame()
    assert backend.merge_rows(table, frame.head(10), (KEY_COLUMN,), METADATA) == 10
    assert backend.merge_rows(table, frame.iloc[5:15], (KEY_COLUMN,), METADATA) == 15  # 5 updated, 5 new
    assert backend.read_table(table)[KEY_COLUMN].is_unique
    assert session.created == {table: user_metadata(METADATA)}
    properties = {row.key: row.value for row in session.spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
    assert properties["iris_mlops_note"] == "it's quoted"  # the quote survives the SQL string literal
    assert [statement.split()[0] for statement in session.statements] == ["MERGE", "MERGE"]
    error = raised_by(lambda: backend.merge_rows(table, frame.head(3), ("no_such_key",), METADATA))
    assert str(error_condition(error)).startswith("UNRESOLVED_COLUMN")


def test_driver_and_spark_udf_scoring_write_one_schema_append_per_utc_day_and_prune(
    trained: Path, session: DeltaStandIn, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = backend_on(session)
    features, target = f"{CATALOG}.{schema}.features", f"{CATALOG}.{schema}.predictions"
    backend.merge_rows(features, load_iris_frame(), (KEY_COLUMN,), METADATA)
    # A session 14 hours ahead of UTC: the day of a run at 23:30 UTC is still the UTC day.
    session.spark.conf.set("spark.sql.session.timeZone", "Pacific/Kiritimati")
    first = datetime(2031, 3, 1, 23, 30, tzinfo=UTC)
    try:
        driver = backend.score_table(
            CHAMPION_URI, "1", features, target, METADATA, project=IRIS, scored_at=first
        )
        driver_schema = session.spark.table(target).schema
        monkeypatch.setattr(databricks_scoring, "DRIVER_SCORING_MAX_ROWS", 0)  # scale out: spark_udf
        second = first + timedelta(days=1)
        udf = backend.score_table(
            CHAMPION_URI, "1", features, target, METADATA, project=IRIS, scored_at=second
        )
        rerun = backend.score_table(
            CHAMPION_URI, "1", features, target, METADATA, project=IRIS, scored_at=second
        )
    finally:
        session.spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert (driver, udf, rerun) == (150, 150, 150)
    assert (
        session.spark.table(target).schema == driver_schema
    )  # the UDF's rows merged into the driver's table
    types = {field.name: field.dataType.simpleString() for field in driver_schema.fields}
    assert types == {
        KEY_COLUMN: "bigint",
        **dict.fromkeys(FEATURE_COLUMNS, "double"),
        PREDICTION_COLUMN: "string",
        VERSION_COLUMN: "string",
        "scored_at": "timestamp",
        SCORED_ON_COLUMN: "date",
    }
    rows = backend.read_table(target)
    assert rows.groupby(SCORED_ON_COLUMN).size().to_dict() == {date(2031, 3, 1): 150, date(2031, 3, 2): 150}
    assert set(rows[PREDICTION_COLUMN]) <= {"setosa", "versicolor", "virginica"}
    assert set(rows[VERSION_COLUMN]) == {"1"}
    assert backend.delete_before(target, SCORED_ON_COLUMN, date(2031, 3, 2), METADATA) == 150
    assert set(backend.read_table(target)[SCORED_ON_COLUMN]) == {date(2031, 3, 2)}
    assert (
        backend.delete_before(f"{CATALOG}.{schema}.never_written", SCORED_ON_COLUMN, date(2031, 3, 2), {})
        == 0
    )


def collected_frames(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every DataFrame brought to the driver with `toPandas` (classic and Connect), recorded."""
    from pyspark.sql.classic.dataframe import DataFrame as ClassicFrame  # noqa: PLC0415
    from pyspark.sql.connect.dataframe import DataFrame as ConnectFrame  # noqa: PLC0415

    frames: list[Any] = []
    for kind in (ClassicFrame, ConnectFrame):

        def to_pandas(self: Any, real: Any = kind.toPandas) -> Any:
            frames.append(self)
            return real(self)

        monkeypatch.setattr(kind, "toPandas", to_pandas)
    return frames


def test_the_monitors_window_is_filtered_in_the_scan_in_any_session_time_zone(
    session: DeltaStandIn, schema: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What reaches the driver is the scan with the window's filter pushed into it, never the table."""
    backend, table = backend_on(session), f"{CATALOG}.{schema}.predictions"
    frame = load_iris_frame()
    first = datetime(2031, 3, 1, 23, 30, tzinfo=UTC)
    for day in range(3):
        rows = prediction_rows(IRIS, frame, ["setosa"] * len(frame), "1", first + timedelta(days=day))
        backend.merge_rows(table, rows, IRIS.prediction_keys, METADATA)
    start, end, _ = current_window(first + timedelta(days=1))
    collected = collected_frames(monkeypatch)
    session.spark.conf.set("spark.sql.session.timeZone", "Pacific/Kiritimati")  # 14 h ahead of UTC
    try:
        window = backend.read_window(table, "scored_at", start, end, [KEY_COLUMN, SCORED_ON_COLUMN])
        capsys.readouterr()
        [read] = collected
        read.explain()
    finally:
        session.spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert len(window) == len(frame)
    assert set(window[SCORED_ON_COLUMN]) == {date(2031, 3, 2)}  # the UTC day, not Kiritimati's
    plan = capsys.readouterr().out
    pushed = re.search(r"PushedFilters: \[([^\]]*)", plan)  # the plan truncates long lists
    assert pushed is not None, plan
    assert "GreaterThanOrEqual(scored_at," in pushed[1], plan
    assert "LessThan(scored_at" in pushed[1], plan


def test_above_the_row_limit_spark_summarises_the_window_and_decides_as_the_exact_path(
    session: DeltaStandIn, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """approxQuantile and aggregate counts on real Spark: exact PSI, KS D within the grid's error
    plus the quantiles' rank error, the same decisions; only the summary reaches the driver."""
    reference, window = drifting_pair(20_000)
    numeric = [(name, name) for name in ("same", "barely", "moved", "ties")]
    exact = compare(reference, window, numeric, [("label", "prediction")], LIMITS)
    profile = reference_profile(reference, numeric, [("label", "prediction")])
    table, day = f"{CATALOG}.{schema}.scored", datetime(2031, 3, 2, tzinfo=UTC)
    days = pd.concat([window.assign(scored_at=day - timedelta(days=1)), window.assign(scored_at=day)])
    session.spark.createDataFrame(days).write.saveAsTable(table)
    collected = collected_frames(monkeypatch)
    columns = [*profile.edges, "prediction"]
    request = WindowRequest(columns, profile.edges, ["prediction"], max_rows=len(window) - 1)
    summary = backend_on(session).scored_window([table], "scored_at", day, day + timedelta(days=1), request)
    assert collected == []  # no row went to the driver
    assert isinstance(summary, Summary)
    assert summary.rows == len(window)
    summarised = compare_summaries(profile, summary, LIMITS)
    assert [r.status for r in summarised] == [r.status for r in exact]
    for approx, truth in zip(summarised, exact, strict=True):
        assert approx.psi == pytest.approx(truth.psi, rel=1e-9), approx.feature  # exact bin counts
        bound = KS_GRID_ERROR + 2 * RELATIVE_ERROR if truth.kind == "numeric" else 1e-9
        assert abs((approx.statistic or 0) - (truth.statistic or 0)) <= bound, approx.feature


def test_an_incremental_run_pushes_its_watermark_into_the_scan_and_scores_only_what_is_after_it(
    trained: Path, session: DeltaStandIn, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = backend_on(session)
    features, target = f"{CATALOG}.{schema}.features", f"{CATALOG}.{schema}.predictions"
    iris = load_iris_frame()
    first = datetime(2031, 3, 1, 9, tzinfo=UTC)
    for day in range(3):  # one append a day, each stamped its day (as a feature pipeline writes)
        rows = iris.assign(
            **{KEY_COLUMN: iris[KEY_COLUMN] + 1_000 * day, UPDATED_AT_COLUMN: first + timedelta(days=day)}
        )
        writer = session.spark.createDataFrame(rows).write.format("parquet")
        if day == 0:
            writer.saveAsTable(features)
        else:
            writer.insertInto(features)
    # A session 14 hours ahead of UTC: the bounds are microseconds since the epoch, not local times.
    session.spark.conf.set("spark.sql.session.timeZone", "Pacific/Kiritimati")
    session.spark.conf.set("spark.sql.maxMetadataStringLength", "1000")  # the plan's filters untruncated
    try:
        changed = changed_rows(session.spark, features, first + timedelta(days=1))
        assert changed is not None
        frame, through = changed
        frame.explain()
        batch = backend.score_changed(
            CHAMPION_URI,
            "1",
            features,
            target,
            METADATA,
            project=IRIS,
            scored_at=first + timedelta(days=2),
            since=first + timedelta(days=1),
        )
        nothing = changed_rows(session.spark, features, through)
    finally:
        session.spark.conf.set("spark.sql.session.timeZone", "UTC")
        session.spark.conf.unset("spark.sql.maxMetadataStringLength")
    plan = capsys.readouterr().out
    scan = next(line for line in plan.splitlines() if "PushedFilters" in line)
    assert f"GreaterThan({UPDATED_AT_COLUMN}," in scan, plan
    assert f"LessThanOrEqual({UPDATED_AT_COLUMN}," in scan, plan
    assert through == first + timedelta(days=2)
    assert batch == ScoredBatch(150, first + timedelta(days=2))
    assert set(backend.read_table(target)[KEY_COLUMN] // 1_000) == {2}
    assert nothing is None  # the rerun: nothing after the watermark
    # The watermark's round trip through a Spark table, read in a session 14 h ahead of UTC.
    marks = f"{CATALOG}.{schema}.watermarks"
    backend.merge_rows(marks, watermark_row("1", batch, first + timedelta(days=2)), WATERMARK_KEYS, METADATA)
    session.spark.conf.set("spark.sql.session.timeZone", "Pacific/Kiritimati")
    try:
        assert last_watermark(backend.read_table(marks), "1") == through
    finally:
        session.spark.conf.set("spark.sql.session.timeZone", "UTC")
    with pytest.raises(StateError, match="has no updated_at column"):
        changed_rows(session.spark, target, None)
