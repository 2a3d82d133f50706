"""Console scripts of a job venv run as forks of one warm interpreter of that venv (Linux).

Every job the demo runs is a new process of the job venv, as on Databricks; most of its start is
importing MLflow, scikit-learn, pandas and Arrow (about 2 s of CPU each time, ~15 times a demo). The
job host (``job_host_process.py``, run by the venv's own interpreter) imports them once and forks a
child per job, which then runs exactly what the fresh process would have: same interpreter and
site-packages, the caller's working directory and environment, its own output. Fork after those
imports is safe while no other thread runs: the host checks, and if one does, fresh processes are
used. Other platforms (macOS forbids fork after some of these imports) start fresh processes.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from demo.stage_runner import StageError

HOST_SCRIPT = Path(__file__).with_name("job_host_process.py")
# What the wheels' jobs import that takes long (MLflow's SQLite stores, scikit-learn's estimators,
# skops, Arrow, rich): measured, a training job's own CPU drops from 2.3 s to 0.6 s with these
# imported in the host. A module missing here costs speed only; the jobs import what they need.
PRELOAD = (
    "mlflow",
    "mlflow.models",
    "mlflow.pyfunc",
    "mlflow.sklearn",
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.tracking",
    "alembic",
    "sqlalchemy",
    "git",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "skops.io",
    "scipy.stats",
    "pandas",
    "pyarrow",
    "deltalake",
    "rich.console",
    "rich.progress",
    "rich.table",
)
FORKS = sys.platform == "linux"


class JobHost:
    """One warm interpreter of a job venv; ``run`` is ``subprocess.run`` of a console script."""

    def __init__(self, python: Path, env: Mapping[str, str], preload: Sequence[str] = PRELOAD) -> None:
        """``env``: what a fresh job process would start with; the interpreter reads some of it only
        at start (whether bytecode is written, PYTHONPATH), so every child inherits that part."""
        self._errors: IO[str] = tempfile.TemporaryFile("w+")  # noqa: SIM115 - lives as long as the host
        self._process = subprocess.Popen(  # noqa: S603 - the venv's own interpreter, our script
            [str(python), "-P", str(HOST_SCRIPT), *preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            env=dict(env),
            text=True,
        )
        self._lock = threading.Lock()
        self.ready = bool(self._answer("start")["ready"])

    def _answer(self, doing: str) -> dict[str, Any]:
        assert self._process.stdout is not None  # noqa: S101 - opened with PIPE above
        line = self._process.stdout.readline()
        if not line:
            self._errors.seek(0)
            raise StageError(f"the job host failed to {doing}:\n{self._errors.read()[-1500:]}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def run(
        self, arguments: Sequence[str], cwd: Path, env: Mapping[str, str]
    ) -> subprocess.CompletedProcess[str]:
        assert self._process.stdin is not None  # noqa: S101 - opened with PIPE above
        with self._lock, tempfile.TemporaryDirectory() as scratch:
            out, err = Path(scratch, "stdout"), Path(scratch, "stderr")
            request = {
                "argv": list(arguments),
                "cwd": str(cwd),
                "env": dict(env),
                "stdout": str(out),
                "stderr": str(err),
            }
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            code = int(self._answer(f"run {arguments[0]}")["returncode"])
            return subprocess.CompletedProcess(
                list(arguments), code, out.read_text(errors="replace"), err.read_text(errors="replace")
            )

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)
        self._errors.close()


_HOSTS: dict[Path, JobHost] = {}
_HOSTS_LOCK = threading.Lock()


def host_for(python: Path, env: Mapping[str, str]) -> JobHost | None:
    """The running host of this interpreter, started on first use (all are closed at exit); None
    where jobs must start as fresh processes."""
    if not FORKS:
        return None
    with _HOSTS_LOCK:
        if python not in _HOSTS:
            _HOSTS[python] = JobHost(python, env)
        host = _HOSTS[python]
    return host if host.ready else None


@atexit.register
def close_all() -> None:
    with _HOSTS_LOCK:
        while _HOSTS:
            _HOSTS.popitem()[1].close()
