"""What a Databricks job environment installs on top of serverless environment 4.

The base is a venv of serverless environment 4's Python line (3.12) holding what environment 4 ships
of the wheel's dependencies (`ml/serverless-environment-4.txt`), the mlflow-skinny 2.22.0 it ships
(that file's comment) and its Databricks Connect 17.2.3 (Databricks, "Serverless environment
versions"), with what those require. The rest of environment 4 is not modelled: a package it ships
that the wheel needs counts as added here. On a fresh copy of that base, pip (what a job
environment runs) installs without a cache, from the package index:

- the job environment's dependencies as infra/jobs.py sets them: every version the wheel's lock
  pins, then the wheel (the value);
- the wheel alone, its ranges resolved anew (the baseline: what a job environment that lists only
  the wheel installs).

Each gives the packages added to the base, the MB they add to site-packages and pip's seconds
(download included, so the network counts). `python -m bench.install_footprint <wheel>` measures
another wheel (an older build, for a before/after).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.measurement import Measurement
from infra.wheel import read_wheel

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT_PACKAGES = ROOT / "ml" / "serverless-environment-4.txt"
ENVIRONMENT_CLIENTS = ("mlflow-skinny==2.22.0", "databricks-connect==17.2.3")
PYTHON_LINE = "3.12"
UV = shutil.which("uv") or str(ROOT / ".tools" / "uv" / "bin" / "uv")


@dataclass(frozen=True)
class Footprint:
    packages: int
    megabytes: float
    seconds: float


def python_312() -> str | None:
    """An interpreter of serverless environment 4's Python line: on PATH, or a pyenv build."""
    home = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [
        shutil.which(f"python{PYTHON_LINE}"),
        *sorted(glob.glob(f"{home}/versions/{PYTHON_LINE}.*/bin/python")),
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version[:4])"],
            check=False,
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == PYTHON_LINE:
            return candidate
    return None


def environment_packages() -> list[str]:
    lines = (line.strip() for line in ENVIRONMENT_PACKAGES.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")] + list(ENVIRONMENT_CLIENTS)


def _site_packages(venv: Path) -> Path:
    (found,) = venv.glob("lib/python*/site-packages")
    return found


def _state(venv: Path) -> tuple[set[str], int]:
    site = _site_packages(venv)
    dists = {path.name for path in site.glob("*.dist-info")}
    size = sum(path.stat().st_size for path in site.rglob("*") if path.is_file() and not path.is_symlink())
    return dists, size


def install_on_environment(python: str, requirements: list[str], scratch: Path) -> Footprint:
    """pip installs `requirements` into a fresh copy of the environment 4 base."""
    venv = scratch / f"venv-{len(list(scratch.iterdir()))}"
    subprocess.run([UV, "venv", "--quiet", "--seed", "--python", python, str(venv)], check=True)
    base = [
        UV,
        "pip",
        "install",
        "--quiet",
        "--python",
        str(venv / "bin" / "python"),
        *environment_packages(),
    ]
    subprocess.run(base, check=True)
    before_dists, before_size = _state(venv)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-cache-dir"]
    started = time.perf_counter()
    subprocess.run([*pip, "--disable-pip-version-check", *requirements], check=True)
    seconds = time.perf_counter() - started
    after_dists, after_size = _state(venv)
    return Footprint(len(after_dists - before_dists), (after_size - before_size) / 1e6, seconds)


def footprints(wheel: Path) -> tuple[Footprint, Footprint] | None:
    """(pinned as the job environment installs it, the wheel's ranges alone); None without 3.12."""
    python = python_312()
    if python is None:
        return None
    contents = read_wheel(wheel)
    with tempfile.TemporaryDirectory(prefix="install-footprint-") as directory:
        scratch = Path(directory)
        pinned = install_on_environment(python, [*contents.pinned_requirements, str(contents.path)], scratch)
        ranges = install_on_environment(python, [str(contents.path)], scratch)
    return pinned, ranges


def install_measurements(wheel: Path = ROOT / "dist" / "iris") -> list[Measurement]:
    measured = footprints(wheel)
    if measured is None:
        print(f"install footprint: no Python {PYTHON_LINE} here (serverless environment 4's); skipped")
        return []
    pinned, ranges = measured
    baseline = "the wheel's ranges resolved anew"
    return [
        Measurement("job env 4 install: packages added", pinned.packages, baseline, ranges.packages, "pkgs"),
        Measurement("job env 4 install: MB added", pinned.megabytes, baseline, ranges.megabytes, "MB"),
        Measurement("job env 4 install: pip seconds", pinned.seconds, baseline, ranges.seconds),
    ]


if __name__ == "__main__":
    for row in install_measurements(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist" / "iris"):
        print(f"{row.name}: {row.value:.3g} {row.unit} (baseline {row.baseline_name}: {row.baseline:.3g})")
