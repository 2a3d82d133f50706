"""The local home and its MLflow store (SQLite): checked before MLflow touches it, created atomically.

MLflow builds its tables on the first use of a `sqlite:///` URI (SqlAlchemyStore runs every
migration, about a second). A kill in that second, or two processes doing it at once, used to leave
a half-built database that every later call failed on ("table secrets already exists"). Here:

- a missing store is built by MLflow itself under a temporary name in the home, then linked into
  place with `os.link`, which fails when another process won the race: a reader sees no store or a
  complete one, and a store in use is never replaced;
- an existing store is checked first (SQLite `quick_check`, MLflow's schema revision): a store that
  is empty, damaged, or half-built with data in it stops the task with one message naming the file
  and what to do. Only a half-built store holding no run and no model (what an interrupted first use
  leaves) is moved aside and rebuilt, and the log says so. The registry is never reset silently.
  Two processes may find the same half-built store: the repair is decided again under an exclusive
  lock (`locks.store_repair_lock`) on what the store is then, so one moves it aside and rebuilds it,
  and the others use the store it built (or build a missing one as above), never moving it aside;
- the home must be a writable folder, checked by creating a file in it (MLflow would otherwise retry
  "unable to open database file" for minutes).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from .errors import StateError
from .faults import STORE_BUILT_ASIDE, checkpoint
from .locks import store_repair_lock
from .logs import LOGGER_NAME

STORE_FILE = "mlflow.db"
BUILDING_PREFIX = f".{STORE_FILE}.building-"
# Tables that hold what a user would lose; a store with none of these rows holds nothing.
USER_DATA_TABLES = ("runs", "registered_models", "model_versions", "logged_models")
_checked: set[Path] = set()
_logger = logging.getLogger(LOGGER_NAME)


def check_home(home: Path, variable: str) -> None:
    """The home exists (created if missing), is a folder, and this process can write in it."""
    if home.exists() and not home.is_dir():
        raise StateError(f"{home} is a file, not a folder: set {variable} to a folder, or move the file away")
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".write-probe-"):
            pass
    except OSError as error:
        raise StateError(
            f"{home} is not writable ({error.strerror or error}): the MLflow store and the tables live "
            f"there; make it writable, or set {variable} to a writable folder"
        ) from error


def ensure_store(home: Path, artifact_root: str) -> Path:
    """The store file under `home`, complete and at MLflow's schema; checked once per process."""
    store = home / STORE_FILE
    if store in _checked:
        return store
    _remove_stale_builds(home)
    if not store.exists():
        _build(store, artifact_root)
    else:
        _check(store, artifact_root)
    _checked.add(store)
    return store


def _head_revision() -> str:
    from mlflow.store.db.utils import _get_latest_schema_revision  # noqa: PLC0415 - mlflow is slow to import

    return str(_get_latest_schema_revision())  # type: ignore[no-untyped-call]


def _build(store: Path, artifact_root: str) -> None:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore  # noqa: PLC0415

    aside = store.with_name(f"{BUILDING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        built = SqlAlchemyStore(f"sqlite:///{aside}", artifact_root)  # type: ignore[no-untyped-call]
        built.engine.dispose()
        checkpoint(STORE_BUILT_ASIDE)
        try:
            os.link(aside, store)
            _logger.info("created the MLflow store %s", store)
        except FileExistsError:
            pass  # another process linked its complete store first: use that one
    finally:
        aside.unlink(missing_ok=True)


def _remove_stale_builds(home: Path) -> None:
    """Builds left by killed processes (their pid is gone); a live build is left alone."""
    for leftover in home.glob(f"{BUILDING_PREFIX}*"):
        pid = leftover.name.removeprefix(BUILDING_PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _damaged(store: Path, detail: str) -> StateError:
    return StateError(
        f"{store} is damaged ({detail}): restore it from a backup; or, to start a new and empty "
        f"registry (every run, model version and alias starts over), move it away "
        f"(mv {store} {store}.damaged) and run again"
    )


def _check(store: Path, artifact_root: str) -> None:
    try:
        revision, user_rows = _inspect(store)
    except FileNotFoundError:  # moved aside by a repair since ensure_store saw it: decide below
        revision, user_rows = None, 0
    if revision == _head_revision():
        return
    if user_rows:
        raise _half_built_with_data(store, revision)
    # Another process may have found the same half-built store: decide again under the lock, on
    # what the store is now, so that only one moves it aside and the others use the store it built.
    with store_repair_lock(store.parent):
        if not store.exists():  # moved aside by a process that died before linking its build
            _build(store, artifact_root)
            return
        revision, user_rows = _inspect(store)
        if revision == _head_revision():  # repaired by another process meanwhile
            return
        if user_rows:
            raise _half_built_with_data(store, revision)
        moved = store.with_name(f"{store.name}.incomplete-{time.strftime('%Y%m%dT%H%M%S')}")
        store.rename(moved)
        _logger.warning(
            "%s was half-built (an interrupted first use; it held no run and no model): moved to %s "
            "and built anew",
            store,
            moved,
        )
        _build(store, artifact_root)


def _inspect(store: Path) -> tuple[str | None, int]:
    """The store's schema revision and how many user rows it holds; an error if damaged or empty.

    FileNotFoundError when the store is missing (moved aside by a repair since it was seen)."""
    # Read-write: SQLite rolls back a hot journal a killed writer left before anything is read.
    # `mode=rw` never creates the file: a store moved aside meanwhile must stay missing, or the
    # repairing process would find this empty file where it links its build, and use it.
    try:
        connection = sqlite3.connect(f"{store.absolute().as_uri()}?mode=rw", timeout=30, uri=True)
    except sqlite3.OperationalError as error:
        if not store.exists():
            raise FileNotFoundError(store) from error
        raise _damaged(store, str(error)) from error
    try:
        if store.stat().st_size == 0:
            raise StateError(
                f"{store} is empty (0 bytes): the runs, model versions and aliases it held are gone: "
                f"restore it from a backup; or, to start a new and empty registry, move it away "
                f"(mv {store} {store}.empty) and run again"
            )
        verdict = [row[0] for row in connection.execute("PRAGMA quick_check").fetchall()]
        if verdict != ["ok"]:
            raise _damaged(store, "; ".join(str(line) for line in verdict[:3]))
        return _revision(connection), sum(_count(connection, table) for table in USER_DATA_TABLES)
    except sqlite3.DatabaseError as error:
        raise _damaged(store, str(error)) from error
    finally:
        connection.close()


def _half_built_with_data(store: Path, revision: str | None) -> StateError:
    return StateError(
        f"{store} holds runs or models but its schema is at revision {revision!r}, not MLflow's "
        f"{_head_revision()!r}: back it up, then run `mlflow db upgrade sqlite:///{store}`"
    )


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: creation stopped before alembic stamped it
        return None
    return str(row[0]) if row else None


def _count(connection: sqlite3.Connection, table: str) -> int:
    try:
        return int(connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed names
    except sqlite3.OperationalError:
        return 0
