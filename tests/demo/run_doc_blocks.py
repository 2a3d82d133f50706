"""Run the docs' offline steps in a fresh clone, in order, and record how each went (JSON).

    python run_doc_blocks.py <clone> <steps.json> <results.json>

``steps.json`` is a list of {"label", "command"} (and "timeout", seconds, where a step needs longer
than STEP_TIMEOUT_SECONDS); each command runs with bash (pipefail) in the clone, as a user types
it. The first failure stops the run: later steps build on earlier ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

STEP_TIMEOUT_SECONDS = 600


def main(clone: Path, steps_file: Path, results_file: Path) -> int:
    results = []
    for step in json.loads(steps_file.read_text(encoding="utf-8")):
        started, timeout = time.monotonic(), step.get("timeout", STEP_TIMEOUT_SECONDS)
        try:
            done = subprocess.run(
                ["bash", "-o", "pipefail", "-c", step["command"]],
                cwd=clone,
                check=False,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as expired:
            code, output = -1, f"timed out after {timeout} s: {expired.output or ''}"
        results.append({**step, "returncode": code, "output": output, "seconds": time.monotonic() - started})
        results_file.write_text(json.dumps(results, indent=1), encoding="utf-8")
        if code != 0:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])))
