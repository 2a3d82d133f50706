"""An isolated environment with only built wheels in it, installed the way a Databricks job does.

A job cluster or serverless environment starts from its runtime, installs the wheel's pinned
dependencies, then the wheel; tasks run its console scripts. Here: a fresh venv synced from the
wheel's hashed lock (its project's ``requirements.lock``: the framework's pins), then the wheel
without resolving anything else; the tests install two projects' wheels into one venv this way, as
a shared environment would. Venvs are keyed by lock, wheel bytes and interpreter, so an unchanged
wheel reuses its venv (and the bytecode its first run wrote), like a cached job environment. The
demo and the tests share this one implementation.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from demo.job_host import host_for
from demo.stage_runner import StageError

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "ml" / "framework" / "requirements.lock"  # every project's lock pins the same
HOME_ENV_VAR = "MLOPS_HOME"  # where the wheel's local backend keeps tables and MLflow
COMPLETE = ".iris-mlops-complete"  # written last: a venv without it was interrupted
STALE_SECONDS = 24 * 3600  # venvs of other wheels unused this long are removed


def uv_binary() -> str:
    """uv from PATH, or the copy `make setup` installs into .tools when PATH has none."""
    found = os.environ.get("UV") or shutil.which("uv") or str(REPO / ".tools" / "uv" / "bin" / "uv")
    if not Path(found).exists():
        raise StageError("uv is not installed: run `make setup` first")
    return found


def venv_key(wheel: Path, lock: Path = LOCK, beside: Sequence[Path] = ()) -> str:
    """Same lock, same wheels' bytes (the build is reproducible), same interpreter: same venv."""
    digest = hashlib.sha256()
    for part in (
        lock.read_bytes(),
        wheel.read_bytes(),
        *(w.read_bytes() for w in beside),
        sys.version.encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class JobEnvironment:
    """A venv holding one wheel and its locked dependencies, and the home its jobs write to."""

    venv: Path
    home: Path

    def script(self, name: str) -> Path:
        return self.venv / "bin" / name

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The caller's environment without this project's settings, and a home of its own."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "DATABRICKS_"))}
        environ.pop("VIRTUAL_ENV", None)  # the job's venv, not the caller's
        # Let the first task write bytecode, as on a cluster, so later tasks start in ~4 s, not ~9 s.
        environ.pop("PYTHONDONTWRITEBYTECODE", None)
        return {**environ, HOME_ENV_VAR: str(self.home), **(extra or {})}

    def run(self, arguments: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run one of the wheel's console scripts; output is captured for the caller to show."""
        # The wheel's console scripts run as forks of the venv's warm interpreter (job_host.py);
        # the interpreter itself (`python -c ...`) starts as a fresh process.
        host = host_for(self.script("python"), self.environ()) if arguments[0] != "python" else None
        if host is not None:
            return host.run(arguments, cwd, self.environ())
        return subprocess.run(  # noqa: S603 - our own console script, fixed argv
            [str(self.script(arguments[0])), *arguments[1:]],
            cwd=cwd,
            env=self.environ(),
            capture_output=True,
            text=True,
            check=False,
        )


def _install(venv: Path, wheels: Sequence[Path], lock: Path) -> None:
    uv, python = uv_binary(), str(venv / "bin" / "python")
    link = ("--link-mode", "hardlink")  # from uv's cache: a warm cache installs ~800 MB in ~2 s
    steps = [
        ("venv", "--quiet", "--python", sys.executable, str(venv)),
        ("pip", "sync", "--quiet", *link, "--python", python, "--require-hashes", str(lock)),
        ("pip", "install", "--quiet", *link, "--python", python, "--no-deps", *map(str, wheels)),
    ]
    environ = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    for step in steps:
        done = subprocess.run([uv, *step], env=environ, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise StageError(f"`uv {' '.join(step[:2])}` failed: {done.stderr.strip()[-500:]}")
    (venv / COMPLETE).write_text(" ".join(wheel.name for wheel in wheels))


def _prune(root: Path, keep: Path) -> None:
    for other in root.iterdir():
        marker = other / COMPLETE
        stale = marker.exists() and time.time() - marker.stat().st_mtime > STALE_SECONDS
        if other != keep and stale:
            shutil.rmtree(other, ignore_errors=True)
            (root / f"{other.name}.lock").unlink(missing_ok=True)


def wheel_venv(wheel: Path, root: Path, lock: Path = LOCK, beside: Sequence[Path] = ()) -> tuple[Path, bool]:
    """The venv under ``root`` for ``wheel`` (and other projects' wheels ``beside`` it) and its
    project's ``lock``, and whether it had to be built now.

    Never changed once complete, so concurrent sessions share it; a file lock lets one build it.
    """
    root.mkdir(parents=True, exist_ok=True)
    venv = root / venv_key(wheel, lock, beside)
    with (root / f"{venv.name}.lock").open("w") as building:
        fcntl.flock(building, fcntl.LOCK_EX)
        built = not (venv / COMPLETE).exists()
        if built:
            shutil.rmtree(venv, ignore_errors=True)
            _install(venv, [wheel, *beside], lock)
            _prune(root, keep=venv)
        (venv / COMPLETE).touch()  # last use, for pruning
    return venv, built
