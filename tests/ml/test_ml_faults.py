"""The wheel under faults: kills at named points, concurrent runs, corrupt or unwritable state.

Each task runs in a forked child (fault_support.py) on a home of this module, so a kill is a real
SIGKILL at a named step (MLOPS_KILL_AT), not a timer. Every test checks the message a user
gets (names the path, says what to do) and that nothing was lost.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError
from fault_support import (
    Outcome,
    as_nobody,
    at_once,
    batch,
    batch_step,
    context,
    in_child,
    inspect_together_then_log,
    meeting,
    model_name,
    not_preloaded,
    registry_state,
    serve_champion,
    task,
    training,
)
from iris_mlops.data import DEPLOYMENTS_TABLE, FEATURES_TABLE, KEY_COLUMN, PREDICTIONS_TABLE, load_iris_frame
from iris_mlops.project import PROJECT as IRIS
from mlops_framework import faults, store
from mlops_framework.backends.local import LocalBackend
from mlops_framework.backends.local_delta import retry_commit_conflicts
from mlops_framework.errors import StateError
from mlops_framework.locks import table_write_lock, training_lock
from mlops_framework.store import STORE_FILE
from mlops_framework.vocabulary import CHAMPION

MODEL = "main.iris.iris_classifier"
KILLED = -9
# A new challenger: a C no other test trains with, so train never skips it as already trained.
RETRAIN = ("--regularization=0.25",)


def table_rows(home: Path, name: str) -> pd.DataFrame:
    return DeltaTable(str(home / "tables" / "main" / "iris" / name)).to_pandas()


def succeeded(outcome: Outcome) -> bool:
    return (
        outcome.exitcode == 0
        and outcome.error is None
        and all(status == "succeeded" for _, status, _ in outcome.value)
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home where the training job ran once, in a child: champion v1."""
    path = tmp_path_factory.mktemp("faults_home")
    outcome = in_child(training, home=path)
    assert succeeded(outcome), outcome
    return path


def test_children_start_with_what_the_server_preloaded(tmp_path: Path) -> None:
    # The forkserver skips a preload module it cannot import without a word (fault_support.py):
    # then every child would import mlflow and scikit-learn again, seconds each.
    assert in_child(not_preloaded, home=tmp_path).value == []


# -- 1. the MLflow store: killed while created, created twice at once, half-built ---------------


def test_a_kill_while_the_store_is_built_leaves_no_store_and_two_next_first_uses_at_once_build_it(
    tmp_path: Path,
) -> None:
    killed = in_child(context, home=tmp_path, kill_at=faults.STORE_BUILT_ASIDE)
    assert killed.exitcode == KILLED
    assert not (tmp_path / STORE_FILE).exists()
    assert list(tmp_path.glob(".mlflow.db.building-*"))  # what the kill left, aside
    # The next two uses come at once: both find no store, build one aside, one links it first.
    after = at_once([(registry_state, ()), (model_name, ())], tmp_path)
    assert [outcome.error for outcome in after] == [None, None]
    assert after[0].value["versions"] == {}
    assert after[1].value == MODEL
    assert not list(tmp_path.glob(".mlflow.db.building-*"))


def test_a_half_built_store_without_data_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / STORE_FILE) as half:  # what a kill during MLflow's migrations left
        half.execute("CREATE TABLE experiments (experiment_id INTEGER)")
        half.execute("CREATE TABLE secrets (id INTEGER)")
    outcome = in_child(registry_state, home=tmp_path)
    assert outcome.error is None, outcome
    (moved,) = tmp_path.glob(f"{STORE_FILE}.incomplete-*")
    assert "secrets" in str(sqlite3.connect(moved).execute("SELECT name FROM sqlite_master").fetchall())


def test_two_first_uses_that_found_one_half_built_store_repair_it_once_and_share_it(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / STORE_FILE) as half:  # what a kill during MLflow's migrations left
        half.execute("CREATE TABLE experiments (experiment_id INTEGER)")
    # Both read the half-built store before either repairs it (they meet there): one moves it aside
    # and rebuilds it; the other, under the repair lock, finds the rebuilt store and uses it. Without
    # the lock the second one's move failed (the store was gone) or moved aside the first one's new
    # store while that one wrote into it.
    meet = meeting(2)
    outcomes = at_once(
        [(inspect_together_then_log, (meet, "first")), (inspect_together_then_log, (meet, "second"))],
        tmp_path,
    )
    assert [outcome.error for outcome in outcomes] == [None, None], outcomes
    assert [outcome.value for outcome in outcomes] == [["first", "second"]] * 2  # one store, both runs
    (moved,) = tmp_path.glob(f"{STORE_FILE}.incomplete-*")
    assert "experiments" in str(sqlite3.connect(moved).execute("SELECT name FROM sqlite_master").fetchall())


def test_checking_a_store_moved_aside_meanwhile_never_creates_an_empty_one(tmp_path: Path) -> None:
    # sqlite3.connect creates a missing file: an empty store where the repairing process is about
    # to link its build (its os.link would then fail and it would use the empty file).
    with pytest.raises(FileNotFoundError):
        store._inspect(tmp_path / STORE_FILE)
    assert not (tmp_path / STORE_FILE).exists()


# -- 6. corrupt or unwritable state: one message naming the path and what to do ------------------


@pytest.fixture
def copied_home(home: Path, tmp_path: Path) -> Path:
    """The trained home's store and tables (its model files stay where the store points)."""
    copy = tmp_path / "home"
    shutil.copytree(home, copy, ignore=shutil.ignore_patterns("artifacts", "locks"))
    return copy


def corrupt_store(store: Path, how: str) -> None:
    data = store.read_bytes()
    if how == "garbage":
        store.write_bytes(b"not a database" * 1000)
    elif how == "half-truncated":
        store.write_bytes(data[: len(data) // 2])
    else:
        store.write_bytes(b"")


@pytest.mark.parametrize(
    ("how", "needle"),
    [("garbage", "is damaged"), ("half-truncated", "is damaged"), ("empty", "is empty (0 bytes)")],
)
def test_a_damaged_store_stops_with_its_path_and_is_never_reset(
    copied_home: Path, how: str, needle: str
) -> None:
    store = copied_home / STORE_FILE
    corrupt_store(store, how)
    damaged = store.read_bytes()
    deployments = table_rows(copied_home, DEPLOYMENTS_TABLE)
    job = in_child(training, home=copied_home)
    assert job.value[0] == ("ingest", "failed", "exit code 1")
    outcome = in_child(registry_state, home=copied_home)
    assert outcome.error is not None
    assert "StateError" in outcome.error
    assert needle in outcome.error
    assert str(store) in outcome.error
    assert "restore it from a backup" in outcome.error
    assert "Traceback" not in outcome.error
    assert store.read_bytes() == damaged  # not replaced by an empty registry
    pd.testing.assert_frame_equal(table_rows(copied_home, DEPLOYMENTS_TABLE), deployments)


def test_a_home_that_is_a_file_is_named(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")
    with pytest.raises(StateError, match=rf"{home} is a file, not a folder: set MLOPS_HOME"):
        LocalBackend(home).configure_mlflow()


def test_a_read_only_home_fails_at_once_with_its_path() -> None:
    home = Path(tempfile.mkdtemp(prefix="iris-read-only-"))  # world-traversable, unlike tmp_path
    home.chmod(0o555)
    try:
        outcome = in_child(as_nobody, str(home), home=home)
    finally:
        shutil.rmtree(home)
    assert outcome.error is not None
    assert f"{home} is not writable" in outcome.error
    assert "set MLOPS_HOME to a writable folder" in outcome.error


def test_removed_model_files_are_named_by_every_reader(home: Path) -> None:
    artifacts = home / "artifacts"
    aside = home.with_name(home.name + "-artifacts-aside")
    artifacts.rename(aside)
    try:
        batch_outcome = in_child(batch_step, home=home)
        serve_outcome = in_child(serve_champion, home=home)
    finally:
        aside.rename(artifacts)
    for outcome in (batch_outcome, serve_outcome):
        assert outcome.error is not None
        assert "StateError" in outcome.error
        assert f"are missing from {artifacts}" in outcome.error
        assert "restore that folder" in outcome.error
        assert "run the training job first" not in outcome.error


@pytest.mark.parametrize("damage", ["deleted parquet file", "truncated commit"])
def test_a_damaged_table_is_named_with_how_to_rebuild_it(tmp_path: Path, damage: str) -> None:
    backend = LocalBackend(tmp_path)
    table = f"main.iris.{FEATURES_TABLE}"
    backend.merge_rows(table, load_iris_frame(), (KEY_COLUMN,), {})
    path = backend.table_path(table)
    if damage == "deleted parquet file":
        next(path.glob("*.parquet")).unlink()
    else:
        commit = path / "_delta_log" / "00000000000000000000.json"
        commit.write_text(commit.read_text()[:100])
    with pytest.raises(StateError) as raised:
        backend.read_table(table)
    message = str(raised.value)
    assert f"table {table} at {path} is damaged" in message
    assert "ingest rebuilds it" in message


# -- 7. concurrent runs -----------------------------------------------------------------------------


def test_a_second_training_of_the_model_is_refused_with_the_holder(home: Path) -> None:
    with training_lock(home, MODEL):
        outcome = in_child(training, home=home)
    assert outcome.error is not None
    assert f"BusyError: another training of {MODEL} is running (pid {os.getpid()}, since " in outcome.error


def test_two_trainings_at_once_never_act_on_each_others_version(home: Path) -> None:
    before = in_child(registry_state, home=home).value
    outcomes = at_once([(training, ("--regularization=0.5",)), (training, ("--regularization=2",))], home)
    for outcome in outcomes:
        assert succeeded(outcome) or "BusyError: another training" in str(outcome.error), outcome
    assert any(succeeded(outcome) for outcome in outcomes)
    after = in_child(registry_state, home=home).value
    champion = after["versions"][after["aliases"][CHAMPION]]
    assert champion["gate_status"] == "passed"
    assert set(before["versions"]) <= set(after["versions"])  # nothing lost


def test_two_batch_inferences_at_once_both_commit(home: Path) -> None:
    outcomes = at_once([(batch, ()), (batch, ())], home)
    assert [outcome.value for outcome in outcomes] == [True, True], outcomes
    rows = table_rows(home, PREDICTIONS_TABLE)
    assert not rows.duplicated(["sample_id", "model_version"]).any()


def test_writers_of_one_table_take_turns_and_a_stuck_one_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Two insert-only MERGEs can both commit under deltalake's conflict rules (every row twice), so
    # each write waits for the table's lock; one held past the bound is reported, never waited on.
    monkeypatch.setattr("mlops_framework.locks.TABLE_LOCK_WAIT_SECONDS", 0.2)
    backend = LocalBackend(tmp_path)
    rows = pd.DataFrame({"sample_id": [1], "model_version": ["1"], "prediction": [0]})
    with table_write_lock(backend.home, PREDICTIONS_TABLE), pytest.raises(StateError) as refused:
        backend.merge_rows(PREDICTIONS_TABLE, rows, ("sample_id", "model_version"), {})
    assert f"table {PREDICTIONS_TABLE}: another writer has held " in str(refused.value)
    assert str(backend.home / "locks") in str(refused.value)
    assert not DeltaTable.is_deltatable(str(backend.table_path(PREDICTIONS_TABLE)))  # nothing written
    assert backend.merge_rows(PREDICTIONS_TABLE, rows, ("sample_id", "model_version"), {}) == 1


def test_commit_conflicts_are_retried_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlops_framework.backends.local_delta.COMMIT_BACKOFF_SECONDS", 0.0)
    calls: list[int] = []

    def conflicts_twice() -> int:
        calls.append(1)
        if len(calls) <= 2:
            raise CommitFailedError("concurrent transaction deleted the same data")
        return 150

    assert retry_commit_conflicts(conflicts_twice, "t") == 150
    assert len(calls) == 3

    def always() -> int:
        raise CommitFailedError("conflict")

    with pytest.raises(StateError, match=r"table t: 6 commits in a row lost to concurrent writers"):
        retry_commit_conflicts(always, "t")


# -- 8. kills at named points: the next run closes or marks what was left ---------------------------


def test_killed_runs_are_closed_and_half_made_versions_marked_by_the_next_training(home: Path) -> None:
    deployments = len(table_rows(home, DEPLOYMENTS_TABLE))
    before = in_child(registry_state, home=home).value
    for point in (faults.RUN_STARTED, faults.VERSION_CREATED):
        killed = in_child(task, "iris-train", *RETRAIN, home=home, kill_at=point)
        assert killed.exitcode == KILLED, (point, killed)
    state = in_child(registry_state, home=home).value
    assert ("RUNNING", None) in state["runs"]
    half_made = [v for v, tags in state["versions"].items() if "training_fingerprint" not in tags]
    assert len(half_made) == 1

    assert in_child(task, "iris-train", *RETRAIN, home=home).value == "ok"
    state = in_child(registry_state, home=home).value
    assert all(status != "RUNNING" for status, _ in state["runs"])
    interrupted = [reason for status, reason in state["runs"] if status == "KILLED"]
    assert len(interrupted) == 2
    assert all("ended with the run open" in str(reason) for reason in interrupted)
    assert IRIS.tags.incomplete in state["versions"][half_made[0]]
    assert half_made[0] not in state["aliases"].values()
    assert state["aliases"]["champion"] == before["aliases"]["champion"]  # nothing lost
    assert len(table_rows(home, DEPLOYMENTS_TABLE)) == deployments


def test_a_kill_after_a_table_commit_loses_and_duplicates_nothing(home: Path) -> None:
    killed = in_child(batch, home=home, kill_at=faults.TABLE_WRITTEN)
    assert killed.exitcode == KILLED
    assert in_child(batch, home=home).value is True
    rows = table_rows(home, PREDICTIONS_TABLE)
    assert not rows.duplicated(["sample_id", "model_version"]).any()
    assert len(table_rows(home, FEATURES_TABLE)) == len(load_iris_frame())


def test_an_unknown_kill_point_is_an_error_not_a_silent_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(faults.KILL_AT_ENV_VAR, "verison-created")
    with pytest.raises(ValueError, match="allowed: run-started, store-built-aside, table-written"):
        faults.checkpoint(faults.VERSION_CREATED)
