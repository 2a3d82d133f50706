"""Helpers shared by the ml tests (a unique module name: several test folders have a conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from demo import job_env

REPO = Path(__file__).resolve().parents[2]
UV = job_env.uv_binary()
LOCK = job_env.LOCK
COMPLETE = job_env.COMPLETE
venv_key = job_env.venv_key
SOURCE_DATE_EPOCH = "315532800"  # the Makefile's, so test builds match `make wheel`
TEST_COMMIT = "0123456789abcdef0123456789abcdef01234567"  # pragma: allowlist secret
# Iris-sized fits run on one BLAS thread. OpenBLAS's pool (one thread per core) spins on every call
# however small: a LogisticRegression fit on Iris costs ~100 ms of CPU with it and ~3 ms without,
# the same result. For the processes the tests start (set before numpy loads); conftest.py limits
# the test process itself.
ONE_BLAS_THREAD = {"OPENBLAS_NUM_THREADS": "1"}


# Every ML project's folder, as `make wheel` finds them.
PROJECT_DIRS = sorted(path.parent for path in (REPO / "ml" / "projects").glob("*/pyproject.toml"))
IRIS_DIR = REPO / "ml" / "projects" / "iris"  # the framework's tests run on Iris


def build_wheel(out_dir: Path, project: Path = IRIS_DIR) -> Path:
    """The wheel of a project folder (Iris's unless named), built as `make wheel` builds it."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "UV_PYTHON_DOWNLOADS": "never"}
    command = [UV, "build", "--quiet", "--wheel", "--no-build-isolation", "--python", sys.executable]
    subprocess.run([*command, "--out-dir", str(out_dir), str(project)], check=True, env=env)
    (wheel,) = out_dir.glob("*.whl")
    return wheel


def wheel_venv(wheel: Path, root: Path, beside: Sequence[Path] = ()) -> Path:
    """A venv with exactly the hashed ml/framework/requirements.lock, `wheel` and the wheels `beside`
    it (demo.job_env, shared with `make demo`): a fresh clone installs once, later sessions reuse it
    while all are unchanged."""
    venv, _built = job_env.wheel_venv(wheel, root, beside=beside)
    return venv


@dataclass(frozen=True)
class SideBySideRuns:
    environment: job_env.JobEnvironment  # the venv of both wheels (wheel_env) and the one home they share
    runs: dict[str, subprocess.Popen[bytes]]  # project -> its front door's `run training batch-inference`
    logs: dict[str, Path]  # project -> what that run printed
