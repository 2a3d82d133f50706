"""The job host: runs inside a job venv's own interpreter, never imports the demo.

Started as ``<venv>/bin/python -P job_host_process.py <module>...``: it imports the given modules
(the wheel's heavy dependencies: seconds of imports), then reads one JSON request per line on
stdin. For each it forks; the child becomes the console script a fresh process would have run
(working directory, whole environment, ``sys.argv``, its output in the request's files) and exits
through the interpreter's normal shutdown, so atexit handlers and buffered output behave as in a
fresh process. The host answers one JSON line with the exit code, and never runs a job itself, so
nothing of one job can reach the next: each child starts from the same just-imported interpreter.
End of stdin ends the host.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
from importlib.metadata import entry_points
from typing import Any


def _exit_code(error: SystemExit) -> int:
    """What the interpreter would exit with for ``sys.exit(code)``."""
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code
    sys.stderr.write(f"{error.code}\n")
    return 1


def run_script(request: dict[str, Any]) -> int:
    """In the forked child: the console script, as its generated wrapper runs it."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # Nothing to read (stdin is the host's requests); output to the caller's files.
    streams = ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC))
    for fd, path, flags in (*streams, (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        target = os.open(path, flags, 0o600)
        os.dup2(target, fd)
        os.close(target)
    script, *arguments = request["argv"]
    sys.argv = [script, *arguments]
    (entry_point,) = entry_points(group="console_scripts", name=script)
    try:
        sys.exit(entry_point.load()())
    except SystemExit as error:
        return _exit_code(error)


def _answer(answer: dict[str, Any]) -> None:
    """One JSON line to the caller; flushed, so a child forked next inherits no pending output."""
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def serve(preload: list[str]) -> None:
    for module in preload:
        importlib.import_module(module)
    # A fork copies only the calling thread: with another thread running, a child could inherit a
    # lock that thread held. The caller then starts fresh processes instead.
    threads = [thread.name for thread in threading.enumerate() if thread is not threading.main_thread()]
    _answer({"ready": not threads, "threads": threads})
    if threads:
        return
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            # The child leaves through SystemExit: the normal shutdown of a fresh process.
            sys.exit(run_script(request))
        _, status = os.waitpid(pid, 0)
        _answer({"returncode": os.waitstatus_to_exitcode(status)})


if __name__ == "__main__":
    serve(sys.argv[1:])
