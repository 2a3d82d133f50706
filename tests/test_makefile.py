"""The Makefile as a user meets it: `make help`, and what its targets pass on or refuse up front."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _make(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    return subprocess.run(
        ["make", "--no-print-directory", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )


def test_make_help_lists_every_target_in_one_aligned_column() -> None:
    lines = _make("-s", "help").stdout.splitlines()
    assert len(lines) > 10
    names = [line.split()[1] for line in lines]
    assert {"new-project", "project-tests", "policy-venv", "promote"} <= set(names)
    # Each description starts two columns after the longest target's name, on every line.
    column = len("  make ") + max(map(len, names)) + 2
    for line, name in zip(lines, names, strict=True):
        assert line.startswith(f"  make {name}")
        assert line[column - 2 : column] == "  ", line
        assert line[column] != " ", line


def test_new_project_without_a_name_stops_before_setup_installs_anything(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    result = _make("new-project", "NAME=", cwd=tmp_path)
    assert result.returncode == 2
    assert "make new-project: NAME=<name> is required" in result.stderr
    assert not (tmp_path / ".venv").exists(), "setup ran before the missing NAME was said"


def _recipe(*arguments: str) -> str:
    """The command `make` would run last for these arguments (the target's own recipe)."""
    result = _make("-n", *arguments)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_make_plan_passes_the_champion_version_on() -> None:
    assert _recipe("plan", "STACK=dev", "CHAMPION=3").endswith("-m stacks.plan --stack dev --champion 3")
    assert _recipe("plan", "STACK=dev").endswith("-m stacks.plan --stack dev")


def test_make_promote_is_a_dry_run_unless_apply_is_set() -> None:
    assert "--apply" not in _recipe("promote", "FROM=uat", "TO=prod")
    assert _recipe("promote", "FROM=uat", "TO=prod", "APPLY=1").endswith("--from uat --to prod --apply")
