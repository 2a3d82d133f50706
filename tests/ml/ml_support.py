"""Helpers shared by the ml tests (a unique module name: several test folders have a conftest)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UV = os.environ.get("UV") or str(REPO / ".tools/uv/bin/uv")
LOCK = REPO / "ml" / "requirements.lock"
SOURCE_DATE_EPOCH = "315532800"  # the Makefile's, so test builds match `make wheel`
TEST_COMMIT = "0123456789abcdef0123456789abcdef01234567"
E2E_COMMIT = "e2e"
COMPLETE = ".iris-mlops-complete"  # written last: a venv without it was interrupted
STALE_SECONDS = 24 * 3600  # venvs of other wheels unused this long are removed


def build_wheel(out_dir: Path) -> Path:
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "UV_PYTHON_DOWNLOADS": "never"}
    command = [UV, "build", "--quiet", "--wheel", "--no-build-isolation", "--python", sys.executable]
    subprocess.run([*command, "--out-dir", str(out_dir), str(REPO / "ml")], check=True, env=env)
    (wheel,) = out_dir.glob("iris_mlops-*.whl")
    return wheel


def venv_key(wheel: Path) -> str:
    """Same lock, same wheel bytes (the build is reproducible), same interpreter: same venv."""
    digest = hashlib.sha256()
    for part in (LOCK.read_bytes(), wheel.read_bytes(), sys.version.encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:24]


def _install(venv: Path, wheel: Path) -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    python = str(venv / "bin" / "python")

    def uv(*args: str) -> None:
        subprocess.run([UV, *args], check=True, env=env)

    uv("venv", "--quiet", "--python", sys.executable, str(venv))
    # Hard links into uv's cache: a warm cache installs the ~800 MB of dependencies in ~2 s.
    link = ("--link-mode", "hardlink")
    uv("pip", "sync", "--quiet", *link, "--python", python, "--require-hashes", str(LOCK))
    uv("pip", "install", "--quiet", *link, "--python", python, "--no-deps", str(wheel))
    (venv / COMPLETE).write_text(wheel.name)


def _prune(root: Path, keep: Path) -> None:
    for other in root.iterdir():
        marker = other / COMPLETE
        stale = marker.exists() and time.time() - marker.stat().st_mtime > STALE_SECONDS
        if other != keep and stale:
            shutil.rmtree(other, ignore_errors=True)
            (root / f"{other.name}.lock").unlink(missing_ok=True)


def wheel_venv(wheel: Path, root: Path) -> Path:
    """A venv with exactly the hashed ml/requirements.lock and `wheel`, reused while both are
    unchanged: a fresh clone installs once, later sessions find it (with the bytecode the
    first run wrote). Never changed after it is complete, so concurrent sessions can share it;
    a file lock makes one of them build it."""
    venv = root / venv_key(wheel)
    with (root / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / COMPLETE).exists():
            shutil.rmtree(venv, ignore_errors=True)
            _install(venv, wheel)
            _prune(root, keep=venv)
        (venv / COMPLETE).touch()  # last use, for pruning
    return venv


def e2e_environment(home: Path) -> dict[str, str]:
    """The caller's environment without our settings, a home of its own, and bytecode written
    (the first run in a new venv compiles what it imports, later runs reuse it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IRIS_MLOPS_", "DATABRICKS_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"IRIS_MLOPS_HOME": str(home), "IRIS_MLOPS_GIT_COMMIT": E2E_COMMIT})
    return env


@dataclass(frozen=True)
class JobsProcess:
    """`iris-mlops run training batch-inference` from the installed wheel, started early."""

    venv: Path
    home: Path
    workdir: Path
    env: dict[str, str]
    process: subprocess.Popen[str]

    def wait(self, timeout: float = 600) -> tuple[int, str]:
        output, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, output
