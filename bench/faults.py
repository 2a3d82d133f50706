"""`python -m bench.faults`: the issue-14 table re-measured with real processes (not part of
`make bench`: it takes minutes and its result is counts, not ratios).

- kills: `iris-mlops run training` SIGKILLed after a random delay (on a fresh home and on a trained
  one), then run again without a kill: survived = the rerun succeeds with no manual repair, leaves
  no RUNNING run, and the champion still points at a version whose gate passed;
- concurrent: two trainings at once on a fresh home, two with different settings on a trained
  home, two batch inferences at once: each either succeeds or is refused with the busy message.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

CLI = str(Path(sys.executable).with_name("iris-mlops"))
CHECK = """
import json
from iris_mlops.project import PROJECT as IRIS
from mlflow import MlflowClient
from mlops_framework.backends.local import LocalBackend
from mlops_framework.steps.approve import GATE_STATUS_TAG
LocalBackend.from_environ(__import__("os").environ).configure_mlflow()
client = MlflowClient()
runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
champion = client.get_model_version_by_alias("main.iris.iris_classifier", "champion")
running = [
    (r.info.run_name, r.data.tags.get(IRIS.tags.process)) for r in runs if r.info.status == "RUNNING"
]
print(json.dumps({"running": len(running), "gate": champion.tags.get(GATE_STATUS_TAG), "left": running}))
"""


def run(home: Path, *arguments: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MLOPS_HOME": str(home), "MLOPS_BACKEND": "local"}
    return subprocess.Popen(
        [CLI, "run", *arguments], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def finished(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    """Exit code and output with rich's line wrapping undone."""
    out, _ = process.communicate(timeout=600)
    return process.returncode, " ".join(out.decode(errors="replace").split())


def healthy(home: Path) -> bool:
    env = {**os.environ, "MLOPS_HOME": str(home), "MLOPS_BACKEND": "local"}
    result = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, check=False
    )
    gate_ok = '"gate": "passed"' in result.stdout or '"gate": "bypassed"' in result.stdout
    if result.returncode or '"running": 0' not in result.stdout or not gate_ok:
        print(result.stdout, result.stderr[-1000:], file=sys.stderr)
        return False
    return True


def kill_trial(home: Path, delay: float, regularization: str) -> bool:
    # dry_run: a new C may score below the champion; the gate's verdict is not what is measured.
    arguments = ("training", f"--regularization={regularization}", "--gate_mode=dry_run")
    process = run(home, *arguments)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    code, output = finished(run(home, *arguments))
    if code == 0 and healthy(home):
        return True
    print(f"not survived after a kill at {delay:.1f} s (exit {code}): {output[-2000:]}", file=sys.stderr)
    return False


def main() -> None:
    rng = random.Random(14)  # noqa: S311 - kill delays, not secrets
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="iris-faults-") as root:
        base = Path(root)
        trials = int(os.environ.get("KILL_TRIALS", "8"))
        fresh = [kill_trial(base / f"fresh{i}", rng.uniform(2.0, 9.0), "1") for i in range(trials)]
        rows.append(("kills on a fresh home, then rerun", f"{sum(fresh)} of {len(fresh)} survived"))
        trained = base / "trained"
        if finished(run(trained, "training"))[0] != 0:
            raise SystemExit("the first training failed")
        later = [kill_trial(trained, rng.uniform(3.0, 9.0), f"0.{i + 1}") for i in range(trials)]
        rows.append(("kills on a trained home, then rerun", f"{sum(later)} of {len(later)} survived"))
        for label, home, arguments in (
            ("two trainings at once, fresh home", base / "pair", (("training",), ("training",))),
            (
                "two trainings, different settings",
                trained,
                (
                    ("training", "--regularization=3", "--gate_mode=dry_run"),
                    ("training", "--regularization=4", "--gate_mode=dry_run"),
                ),
            ),
            ("two batch inferences at once", trained, (("batch-inference",), ("batch-inference",))),
        ):
            outcomes = [finished(process) for process in [run(home, *a) for a in arguments]]
            ok = sum(code == 0 for code, _ in outcomes)
            busy = sum("another training of" in err for code, err in outcomes if code)
            other = len(outcomes) - ok - busy
            rows.append((label, f"{ok} succeeded, {busy} refused as busy, {other} other failures"))
    table = Table(title="faults, real processes")
    table.add_column("case")
    table.add_column("result")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
