"""The job host runs a console script as a fresh process of its venv would: same exit code and
output, the caller's directory and environment, and nothing left over from an earlier run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from demo.job_host import JobHost

PROBE = """
import os, sys
RUNS = []  # a job that left state behind in the host would show it here

def main():
    RUNS.append(sys.argv[1:])
    print(f"cwd={os.getcwd()} var={os.environ.get('PROBE_VAR')} runs={len(RUNS)}")
    print("to stderr", file=sys.stderr)
    if sys.argv[1] == "exit":
        return 3
    if sys.argv[1] == "raise":
        raise RuntimeError("the probe failed")
    return None
"""
THREADED = "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"


@pytest.fixture
def probe_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A console script `probe` and a module that starts a thread, importable by the host."""
    site = tmp_path / "site"
    (site / "probe-0.1.dist-info").mkdir(parents=True)
    (site / "probe.py").write_text(PROBE)
    (site / "threaded.py").write_text(THREADED)
    metadata = "Metadata-Version: 2.1\nName: probe\nVersion: 0.1\n"
    (site / "probe-0.1.dist-info" / "METADATA").write_text(metadata)
    (site / "probe-0.1.dist-info" / "entry_points.txt").write_text("[console_scripts]\nprobe = probe:main\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    return site


def test_each_run_is_a_fresh_process_in_the_callers_directory_and_environment(
    probe_path: Path, tmp_path: Path
) -> None:
    host = JobHost(Path(sys.executable), os.environ, preload=("probe",))
    try:
        assert host.ready
        environment = {"PYTHONPATH": str(probe_path), "PROBE_VAR": "first"}
        first = host.run(["probe", "ok"], tmp_path, environment)
        second = host.run(["probe", "ok"], probe_path, {**environment, "PROBE_VAR": "second"})
    finally:
        host.close()
    assert (first.returncode, first.stderr) == (0, "to stderr\n")
    assert first.stdout == f"cwd={tmp_path} var=first runs=1\n"
    # The preloaded module's state is the host's, untouched: the second run starts from it again.
    assert second.stdout == f"cwd={probe_path} var=second runs=1\n"


def test_exit_codes_and_tracebacks_are_those_of_a_fresh_process(probe_path: Path, tmp_path: Path) -> None:
    host = JobHost(Path(sys.executable), os.environ, preload=("probe",))
    try:
        exited = host.run(["probe", "exit"], tmp_path, {"PYTHONPATH": str(probe_path)})
        raised = host.run(["probe", "raise"], tmp_path, {"PYTHONPATH": str(probe_path)})
        after = host.run(["probe", "ok"], tmp_path, {"PYTHONPATH": str(probe_path)})
    finally:
        host.close()
    assert exited.returncode == 3
    assert raised.returncode == 1
    assert "RuntimeError: the probe failed" in raised.stderr
    assert after.returncode == 0  # a failed job leaves the host serving


def test_a_preload_that_starts_a_thread_makes_the_host_decline(probe_path: Path) -> None:
    """Fork copies only the calling thread; the caller then starts fresh processes instead."""
    host = JobHost(Path(sys.executable), os.environ, preload=("threaded",))
    try:
        assert not host.ready
    finally:
        host.close()
