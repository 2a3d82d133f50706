"""The plan server (plan_server.py) starts a program warm only where a cold start could not differ."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from clone_setup import fresh_clone, link_venv
from plan_server import refusal, run_warm, site_packages
from workflow_files import ROOT

# Everything a program can see of how its interpreter started, then an exit code.
INTROSPECT = """
import atexit, json, os, sys
import stacks
atexit.register(print, "at exit")
print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "path": sys.path, "prefix": sys.prefix,
                  "executable": sys.executable, "variable": os.environ.get("PLAN_SERVER_PROBE"),
                  "stacks": stacks.__file__, "main": __name__}))
sys.stderr.write("to stderr\\n")
sys.exit(3)
"""


def test_a_warm_start_is_what_a_cold_start_of_the_clones_interpreter_sees(
    tmp_path: Path, plan_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clone = fresh_clone(ROOT, tmp_path / "clone")
    link_venv(clone, ROOT / ".venv")
    python = clone / ".venv" / "bin" / "python"
    monkeypatch.setenv("PLAN_SERVER_PROBE", "from the job")
    warm = run_warm(plan_server, python, clone, INTROSPECT, ["dev"])
    cold = subprocess.run(
        [str(python), "-c", INTROSPECT, "dev"], cwd=clone, capture_output=True, text=True, check=False
    )
    assert warm == (cold.returncode, cold.stdout + cold.stderr), warm
    seen = json.loads(cold.stdout.splitlines()[0])
    assert cold.stdout.endswith("at exit\n")
    assert seen["stacks"] == str(clone / "stacks" / "__init__.py")  # the clone's code, not the suite's
    assert seen["variable"] == "from the job"


def _venv(root: Path, links: dict[str, Path], python: str = sys.executable) -> Path:
    """A venv-shaped folder: ``bin/python`` and a site-packages whose entries link ``links``."""
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "python").symlink_to(python)
    site = site_packages(root / "bin" / "python")
    site.mkdir(parents=True)
    for name, target in links.items():
        (site / name).symlink_to(target)
    return root / "bin" / "python"


def test_a_warm_start_is_refused_unless_the_preloaded_files_are_the_clones(tmp_path: Path) -> None:
    server_site = tmp_path / "server-site"
    for package in ("pulumi", "pulumi-3.1"):
        (server_site / package).mkdir(parents=True)
    preloaded = frozenset({"pulumi"})
    env = dict(os.environ)

    def refused(python: Path, environment: dict[str, str] = env) -> str | None:
        return refusal({"python": str(python), "env": environment}, server_site, preloaded)

    same = _venv(tmp_path / "same", {"pulumi": server_site / "pulumi"})
    assert refused(same) is None
    lacking = _venv(tmp_path / "lacking", {})  # its lock lacks the package
    assert f"{site_packages(lacking) / 'pulumi'} is not" in str(refused(lacking))
    other = _venv(tmp_path / "other", {"pulumi": server_site / "pulumi-3.1"})  # another version
    assert f"{site_packages(other) / 'pulumi'} is not" in str(refused(other))
    assert "PYTHON* variables" in str(refused(same, {**env, "PYTHONPATH": str(tmp_path)}))
    stranger = _venv(tmp_path / "stranger", {"pulumi": server_site / "pulumi"}, python="/bin/sh")
    assert f"{stranger} is not" in str(refused(stranger))


def test_a_server_that_is_gone_or_ends_before_answering_leaves_the_run_cold(tmp_path: Path) -> None:
    python = Path(sys.executable)
    assert "did not answer" in str(run_warm(str(tmp_path / "none"), python, tmp_path, "pass", []))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(tmp_path / "socket"))
        listener.listen()
        # The run waits in the backlog; the server ends (here: closes) without answering it.
        ending = threading.Timer(0.2, listener.close)
        ending.start()
        refusal_reason = run_warm(str(tmp_path / "socket"), python, tmp_path, "pass", [])
        ending.join()
    assert "did not answer" in str(refusal_reason)
