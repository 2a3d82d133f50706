"""The workflows are valid, pinned and least-privilege: the rules zizmor and reviewers look for."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
from workflow_files import ACTIONS, ROOT, VENV_BIN, WORKFLOWS, Job, Step, all_jobs, composite_steps

from core.environment import Environment
from stacks.plan import stack_settings

AZURE_LOGIN = "azure/login"
PULUMI_ACTION = "pulumi/actions"
_PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?:\s+#\s*(?P<comment>\S.*))?$")
_VERSION = re.compile(r"^v\d+(?:\.\d+){0,2}$")
_LOCAL = ("$/", "./")


def _uses_lines() -> list[tuple[str, str, str | None]]:
    files = [*WORKFLOWS.glob("*.yml"), *ACTIONS.glob("*/action.yml")]
    found = []
    for path in sorted(files):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = _USES_LINE.match(line)
            if match:
                found.append((str(path.relative_to(ROOT)), match["ref"], match["comment"]))
    return found


def _steps(jobs: list[Job]) -> list[Step]:
    return [step for job in jobs for step in job.steps] + list(composite_steps())


def test_workflows_validate_against_the_github_workflow_schema() -> None:
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert files
    result = subprocess.run(
        [VENV_BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_composite_actions_validate_against_the_github_action_schema() -> None:
    files = sorted(str(p) for p in ACTIONS.glob("*/action.yml"))
    result = subprocess.run(
        [VENV_BIN / "check-jsonschema", "--builtin-schema", "vendor.github-actions", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_offline() -> None:
    result = subprocess.run(
        [VENV_BIN / "zizmor", "--offline", "--no-progress", ".github"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


def _this_repositorys_workflow_at_main(ref: str) -> bool:
    """`<owner>/<repo>/.github/workflows/<file>@main`: main's copy on purpose (core/deployments.py);
    a commit pin would freeze the check that what deploys is on main."""
    github = stack_settings(Environment.DEV).github
    return (
        re.fullmatch(rf"{github.owner}/{github.repository}/\.github/workflows/[\w.-]+@main", ref) is not None
    )


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version() -> None:
    uses = _uses_lines()
    assert uses
    for where, ref, comment in uses:
        if ref.startswith(_LOCAL) or _this_repositorys_workflow_at_main(ref):
            continue
        assert _PINNED.match(ref), f"{where}: {ref} is not pinned to a 40-hex commit"
        assert _VERSION.match(comment or ""), f"{where}: {ref} has no `# vX.Y.Z` comment"


def test_each_action_is_pinned_to_one_commit_everywhere() -> None:
    pins: dict[str, set[tuple[str, str | None]]] = {}
    for _, ref, comment in _uses_lines():
        if not ref.startswith(_LOCAL) and not _this_repositorys_workflow_at_main(ref):
            action, sha = ref.split("@")
            pins.setdefault(action, set()).add((sha, comment))
    assert {action: len(versions) for action, versions in pins.items()} == dict.fromkeys(pins, 1)


def test_no_workflow_runs_on_pull_request_target(workflows: dict[str, dict[str, Any]]) -> None:
    for name, workflow in workflows.items():
        assert "pull_request_target" not in workflow["on"], name
        assert "pull_request_target" not in (WORKFLOWS / name).read_text(encoding="utf-8")


def test_permissions_are_closed_at_the_top_and_opened_per_job(
    workflows: dict[str, dict[str, Any]], jobs: list[Job]
) -> None:
    for name, workflow in workflows.items():
        assert workflow.get("permissions") == {}, f"{name}: top-level `permissions: {{}}`"
    for job in jobs:
        assert "permissions" in job.body, f"{job.workflow}:{job.name} declares its permissions"
        assert "write-all" not in str(job.body["permissions"])


def _runs_azure_login(job: Job, workflows: dict[str, dict[str, Any]]) -> bool:
    """A job logs in itself, or calls a reusable workflow whose jobs log in."""
    if job.calls:
        called = all_jobs({job.calls: workflows[job.calls]})
        return all(_runs_azure_login(inner, workflows) for inner in called)
    return any(step.runs(AZURE_LOGIN) for step in job.steps)


def test_id_token_write_is_granted_only_where_azure_login_runs(
    workflows: dict[str, dict[str, Any]], jobs: list[Job]
) -> None:
    for job in jobs:
        grants = job.permissions.get("id-token") == "write"
        assert grants == _runs_azure_login(job, workflows), f"{job.workflow}:{job.name}"


def test_pull_requests_write_is_granted_only_where_the_preview_comment_is_written(jobs: list[Job]) -> None:
    for job in jobs:
        comments = any(
            step.runs(PULUMI_ACTION) and step.body.get("with", {}).get("comment-on-pr") is True
            for step in job.steps
        )
        assert (job.permissions.get("pull-requests") == "write") == comments, f"{job.workflow}:{job.name}"


def test_checkout_never_persists_the_token(jobs: list[Job]) -> None:
    checkouts = [s for s in _steps(jobs) if s.runs("actions/checkout")]
    assert checkouts
    for step in checkouts:
        assert step.body.get("with", {}).get("persist-credentials") is False, f"{step.workflow}:{step.job}"


def test_run_scripts_interpolate_no_expression(jobs: list[Job]) -> None:
    """Untrusted input (titles, branch names) reaches scripts only through `env:`, never `${{ }}`."""
    scripts = [s for s in _steps(jobs) if "run" in s.body]
    assert scripts
    for step in scripts:
        assert "${{" not in step.body["run"], f"{step.workflow}:{step.job}: {step.body['run']!r}"


@pytest.mark.parametrize(
    "context", ["github.event.pull_request.title", "github.head_ref", "github.event.head_commit"]
)
def test_no_untrusted_context_appears_anywhere(context: str) -> None:
    for path in [*WORKFLOWS.glob("*.yml"), *ACTIONS.glob("*/action.yml")]:
        assert context not in path.read_text(encoding="utf-8"), path.name
