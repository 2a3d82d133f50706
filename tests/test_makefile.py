"""The Makefile as a user meets it: `make help`, and what its targets pass on or refuse up front."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (("NAME=", "KIND=regression"), "make new-project: NAME=<name> is required"),
        (("NAME=churn",), "make new-project: KIND=<kind> is required; allowed: classification regression"),
        (("NAME=churn", "KIND=forecast"), "KIND=forecast is not a kind; allowed: classification regression"),
        (
            ("NAME=churn", "KIND=regression classification"),
            "is not a kind; allowed: classification regression",
        ),
    ],
)
def test_new_project_without_a_name_or_a_kind_stops_before_setup_installs_anything(
    tmp_path: Path, arguments: tuple[str, ...], said: str
) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(ROOT / "ml" / "template" / "kinds", tmp_path / "ml" / "template" / "kinds")
    result = _make("new-project", *arguments, cwd=tmp_path)
    assert result.returncode == 2
    assert said in result.stderr
    assert not (tmp_path / ".venv").exists(), "setup ran before the mistake was said"


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


def test_make_fmt_formats_after_a_fix_it_cannot_make_and_then_names_what_is_left(tmp_path: Path) -> None:
    """`ruff check --fix` exits 1 on a line only the formatter can shorten: `ruff format` still runs,
    and the check after it reports (and fails on) only what neither could repair."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")  # ruff's settings
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "ruff").symlink_to(ROOT / ".venv" / "bin" / "ruff")
    values = ", ".join(f'"value_{n:02}": {n}' for n in range(12))  # longer than line-length
    module = tmp_path / "module.py"
    module.write_text(
        f"import sys\nimport os\n\nVALUES = {{{values}, 'path': [os, sys]}}\n", encoding="utf-8"
    )
    fmt = ("fmt", "-o", "setup", "VENV=venv")  # the suite's ruff; setup is the suite's own
    assert _make(*fmt, cwd=tmp_path).returncode == 0, "formatted and fixed: nothing left"
    text = module.read_text(encoding="utf-8")
    assert text.startswith("import os\nimport sys\n"), "the import order fix"
    assert max(map(len, text.splitlines())) <= 110, "the formatter ran after the failed fix"
    module.write_text(text + "print(undefined_name)\n", encoding="utf-8")
    left = _make(*fmt, cwd=tmp_path)
    assert left.returncode != 0
    assert "F821" in left.stdout, "what is left to fix by hand is named"
