"""pre-commit runs the project's own tools from .venv: no hook is downloaded from anywhere."""

from __future__ import annotations

import subprocess

from workflow_files import ROOT, VENV_BIN, load_yaml

CONFIG = ROOT / ".pre-commit-config.yaml"


def test_pre_commit_config_is_valid() -> None:
    result = subprocess.run(
        [VENV_BIN / "pre-commit", "validate-config", str(CONFIG)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_hook_is_local_and_runs_a_venv_tool() -> None:
    repos = load_yaml(CONFIG)["repos"]
    assert [repo["repo"] for repo in repos] == ["local"]
    for hook in repos[0]["hooks"]:
        tool = hook["entry"].split()[0]
        assert tool.startswith(".venv/bin/"), hook["id"]
        assert (ROOT / tool).exists(), f"{hook['id']}: {tool} is not installed by make setup"


def test_the_hooks_cover_lint_types_workflows_and_secrets() -> None:
    entries = " | ".join(hook["entry"] for hook in load_yaml(CONFIG)["repos"][0]["hooks"])
    for command in ("ruff check", "ruff format --check", "mypy", "zizmor --offline", "detect-secrets-hook"):
        assert command in entries
