"""Helpers shared by the ml tests (a unique module name: several test folders have a conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UV = os.environ.get("UV") or str(REPO / ".tools/uv/bin/uv")
SOURCE_DATE_EPOCH = "315532800"  # the Makefile's, so test builds match `make wheel`
TEST_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def build_wheel(out_dir: Path) -> Path:
    env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "UV_PYTHON_DOWNLOADS": "never"}
    command = [UV, "build", "--quiet", "--wheel", "--no-build-isolation", "--python", sys.executable]
    subprocess.run([*command, "--out-dir", str(out_dir), str(REPO / "ml")], check=True, env=env)
    (wheel,) = out_dir.glob("iris_mlops-*.whl")
    return wheel
