"""A warm start for the stand-in's program runs: the provider SDKs imported once per session.

A cold ``python -m stacks.plan`` spends most of its CPU importing the four Pulumi SDKs
(pulumi_databricks alone ~1.5 s). The rehearsal's clones link exactly those packages, file for
file, from the suite's venv (clone_setup.link_venv), so this server, started with ``-S -P`` by the
suite's interpreter, imports them once and forks a child per program run. The child becomes what
``<clone>/.venv/bin/python -c PROGRAM <stack>`` would be: in the project folder, with the job's
environment, ``sys.path`` as that interpreter builds it (the standard library, then the clone's
site-packages and what its ``.pth`` files add), and the project's own code (stacks/, infra/,
core/, policy/, the wheel's sources) imported fresh from the clone: the server imports none of it.

The server takes a run only when the warm start cannot differ from a cold one, and otherwise
replies ``cold`` (the stand-in then starts the program cold): the run's interpreter must be the
same binary, its ``PYTHON*`` variables (read while an interpreter starts) the server's, and every
site-packages entry a preloaded module came from, and every ``.pth`` file whose import line ran,
the very same file in the clone's venv (not so for a package its lock lacks, or another version).

The demo's job host (demo/job_host.py) is one warm interpreter per job venv, started by that
venv's own interpreter; here one server serves every clone, each a new venv, hence the checks.

One request per connection on a Unix socket: a JSON line ``{"python", "cwd", "env", "args",
"code", "stdout", "stderr"}``; the reply is ``{"exit": <code>}`` or ``{"cold": <why>}``.
"""

from __future__ import annotations

import gc
import json
import os
import re
import site
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PRELOAD = ("pulumi", "pulumi_azure_native", "pulumi_databricks", "pulumi_github", "pydantic", "yaml")
SERVER_VARIABLE = "REHEARSAL_PLAN_SERVER"  # the socket's path, in the stand-in's environment
PARENT_CHECK_SECONDS = 5  # how often an idle server checks that the suite that started it still runs
IMPORT_LINE = re.compile(r"^import[ \t]", re.MULTILINE)  # the .pth lines site.addpackage runs


def site_packages(python: Path) -> Path:
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return python.parent.parent / "lib" / version / "site-packages"


def preload(site_dir: Path) -> frozenset[str]:
    """Import the SDKs; the site-packages entries the loaded modules came from, and the ``.pth``
    files whose import lines ran (what they did, e.g. a meta-path hook, stays in every child)."""
    site.addsitedir(str(site_dir))
    for name in PRELOAD:
        __import__(name)
    entries = {p.name for p in site_dir.glob("*.pth") if IMPORT_LINE.search(p.read_text(encoding="utf-8"))}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not file or module.__name__ == "__main__":  # this file, the server itself
            continue
        path = Path(file)
        if path.is_relative_to(site_dir):
            entries.add(path.relative_to(site_dir).parts[0])
        elif not path.is_relative_to(sys.base_prefix):
            raise RuntimeError(f"the plan server must import only installed packages, not {path}")
    return frozenset(entries)


def refusal(request: dict[str, Any], site_dir: Path, entries: frozenset[str]) -> str | None:
    """Why a warm start of ``request`` could differ from a cold one; None when it cannot."""
    python = Path(request["python"])
    if python.resolve() != Path(sys.executable).resolve():
        return f"{python} is not {sys.executable}"
    starting = {k: v for k, v in os.environ.items() if k.startswith("PYTHON")}
    if {k: v for k, v in request["env"].items() if k.startswith("PYTHON")} != starting:
        return "its PYTHON* variables are not the server's"
    theirs = site_packages(python)
    for entry in sorted(entries):
        if (theirs / entry).resolve() != (site_dir / entry).resolve():
            return f"{theirs / entry} is not {site_dir / entry}"
    return None


def run_child(request: dict[str, Any], stdlib: list[str]) -> int:
    """In the forked child: become ``python -c code args`` of the clone's venv; the exit code."""
    python = Path(request["python"])
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["-c", *request["args"]]
    sys.path[:] = ["", *stdlib]
    site.addsitedir(str(site_packages(python)))
    sys.executable = str(python)
    sys.prefix = sys.exec_prefix = str(python.parent.parent)
    written = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    for fd, path, flags in (
        (0, os.devnull, os.O_RDONLY),
        (1, request["stdout"], written),
        (2, request["stderr"], written),
    ):
        target = os.open(path, flags, 0o600)
        os.dup2(target, fd)
        os.close(target)
    main = sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        exec(compile(request["code"], "<string>", "exec"), main.__dict__)  # noqa: S102 - the stand-in's PROGRAM
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        sys.stderr.write(f"{stop.code}\n")
        return 1
    except BaseException:  # noqa: BLE001 - as the interpreter does: the traceback, exit code 1
        traceback.print_exc()
        return 1
    return 0


def serve(address: str) -> None:
    stdlib = list(sys.path)  # started with -S -P: only the standard library
    parent = os.getppid()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        # Listening before the imports: the suite goes on (the job's first steps run meanwhile),
        # and a run that comes early waits in the backlog until the SDKs are in.
        listener.bind(address)
        listener.listen()
        sys.stdout.write("listening\n")
        sys.stdout.flush()
        site_dir = site_packages(Path(sys.executable))
        entries = preload(site_dir)
        # A fork copies only the calling thread: with another one running, a child could inherit
        # a lock it held. None should run after these imports; if one does, every run starts cold.
        threads = [thread.name for thread in threading.enumerate() if thread is not threading.main_thread()]
        # ~400k long-lived SDK objects out of the collector's sight: a child's collections neither
        # walk them nor copy their pages (https://docs.python.org/3/library/gc.html#gc.freeze).
        gc.freeze()
        listener.settimeout(PARENT_CHECK_SECONDS)
        while True:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                if os.getppid() != parent:  # the suite ended without stopping it (killed)
                    return
                continue
            with connection:
                request = json.loads(connection.makefile(encoding="utf-8").readline())
                reply: dict[str, Any]
                if reason := (f"threads {threads} run in the server" if threads else None) or refusal(
                    request, site_dir, entries
                ):
                    reply = {"cold": reason}
                elif (pid := os.fork()) == 0:
                    # Out through SystemExit: the normal shutdown of a fresh interpreter (atexit,
                    # buffered output), never back into this loop.
                    sys.exit(run_child(request, stdlib))
                else:
                    reply = {"exit": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}
                connection.sendall(json.dumps(reply).encode() + b"\n")


@contextmanager
def started(folder: Path) -> Iterator[str]:
    """A server for this session, listening in ``folder``: yields the socket's path."""
    address = str(folder / "socket")
    command = [sys.executable, "-S", "-P", __file__, address]
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True) as server:
        try:
            if (server.stdout.readline() if server.stdout else "").strip() != "listening":
                raise RuntimeError(f"the plan server did not start (exit code {server.wait()})")
            yield address
        finally:
            server.kill()


def run_warm(address: str, python: Path, cwd: Path, code: str, args: list[str]) -> tuple[int, str] | str:
    """The program's exit code and output (stdout, then stderr) from a warm start, or why the
    server refused it (then the caller starts the program cold)."""
    with tempfile.TemporaryDirectory() as scratch:
        request = {"python": str(python), "cwd": str(cwd), "env": dict(os.environ), "args": args,
                   "code": code, "stdout": f"{scratch}/stdout", "stderr": f"{scratch}/stderr"}  # fmt: skip
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.connect(address)
                connection.sendall(json.dumps(request).encode() + b"\n")
                line = connection.makefile(encoding="utf-8").readline()
        except OSError as error:  # it ended (its own error is on the suite's stderr)
            return f"the plan server did not answer: {error}"
        if not line:
            return "the plan server did not answer"
        reply = json.loads(line)
        if "cold" in reply:
            return str(reply["cold"])
        output = "".join(Path(scratch, name).read_text(encoding="utf-8") for name in ("stdout", "stderr"))
        return int(reply["exit"]), output


if __name__ == "__main__":
    serve(sys.argv[1])
