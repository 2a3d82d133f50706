"""Branches deploy the right stacks, in their GitHub environments, one deployment per stack at a time."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rehearsal import matches
from workflow_files import ROOT, Job

from core.environment import Environment
from stacks.plan import stack_settings
from stacks.wiring import github_protection

PULUMI_ACTION = "pulumi/actions"
REUSABLE_UP = "pulumi-up.yml"


def _stack_files() -> set[str]:
    """The stacks of this repository: `Pulumi.<stack>.yaml` once they exist, else the Environment enum."""
    files = {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml")}
    return files or {e.value for e in Environment}


def _preview_job(jobs: list[Job]) -> Job:
    (job,) = [j for j in jobs if j.workflow == "pr.yml" and any(s.runs(PULUMI_ACTION) for s in j.steps)]
    return job


def _deploying(jobs: list[Job], workflow: str) -> dict[str, Job]:
    """Stack name -> the job of ``workflow`` that runs `pulumi up` for it through the reusable workflow."""
    return {
        str(j.body["with"]["stack"]): j for j in jobs if j.workflow == workflow and j.calls == REUSABLE_UP
    }


def _triggers(workflows: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return dict(workflows[name]["on"])


def test_the_stacks_named_by_the_workflows_are_exactly_the_stacks_of_the_repository(jobs: list[Job]) -> None:
    previewed = set(_preview_job(jobs).body["strategy"]["matrix"]["stack"])
    deployed = set(_deploying(jobs, "deploy.yml")) | set(_deploying(jobs, "promote.yml"))
    assert previewed == _stack_files(), "every stack is previewed on every pull request"
    assert deployed == _stack_files() - {Environment.SANDBOX.value}, "CI deploys all stacks but sandbox"


def _branch_rule(stack: Environment) -> tuple[str, ...]:
    rule = github_protection(stack_settings(stack).github).deployments
    assert rule is not None
    return rule.branch_patterns


def test_branch_filters_are_the_environments_deployment_rules(workflows: dict[str, dict[str, Any]]) -> None:
    """One pattern from one place: the workflows trigger on exactly the branches that the stacks'
    settings (github.deploymentBranches) let deploy to dev and uat (release/**, say, would start uat
    runs for release/a/b that the environment then refuses)."""
    deployable = [*_branch_rule(Environment.DEV), *_branch_rule(Environment.UAT)]
    assert _triggers(workflows, "deploy.yml")["push"]["branches"] == deployable
    assert _triggers(workflows, "pr.yml")["pull_request"]["branches"] == deployable


@pytest.mark.parametrize(
    ("branch", "stack"),
    [("main", "dev"), ("release/1.4", "uat"), ("release/a/b", None), ("feature/x", None), ("mainline", None)],
)
def test_a_pushed_branch_deploys_exactly_where_its_environment_accepts_it(
    workflows: dict[str, dict[str, Any]], jobs: list[Job], branch: str, stack: str | None
) -> None:
    """Workflow filters and deployment rules both treat `*` as "anything but /" (GitHub's filter
    cheat sheet; the REST API's deployment-branch-policy `name`: "Wildcard characters will not
    match /"), so the same pattern means the same branches in both places."""
    triggered = matches(_triggers(workflows, "deploy.yml")["push"]["branches"], branch)
    runs = {
        name: job for name, job in _deploying(jobs, "deploy.yml").items()
        if triggered and _job_runs_for(job, f"refs/heads/{branch}")
    }  # fmt: skip
    assert set(runs) == ({stack} if stack else set())
    for name in runs:
        assert matches(_branch_rule(Environment(name)), branch)


def _job_runs_for(job: Job, ref: str) -> bool:
    condition = str(job.body["if"])
    if condition == "github.ref == 'refs/heads/main'":
        return ref == "refs/heads/main"
    prefix = re.fullmatch(r"startsWith\(github\.ref, '([^']+)'\)", condition)
    assert prefix, f"{job.name}: condition {condition!r} is not one this test models"
    return ref.startswith(prefix[1])


def test_prod_deploys_when_a_promotion_changes_its_stack_file_on_main_or_by_hand(
    workflows: dict[str, dict[str, Any]], jobs: list[Job]
) -> None:
    triggers = _triggers(workflows, "promote.yml")
    assert triggers["push"] == {"branches": ["main"], "paths": ["Pulumi.prod.yaml"]}
    assert "workflow_dispatch" in triggers
    assert set(_deploying(jobs, "promote.yml")) == {Environment.PROD.value}


def test_pulumi_up_runs_in_the_environment_of_its_stack_and_is_never_cancelled(
    workflows: dict[str, dict[str, Any]],
) -> None:
    reusable = workflows[REUSABLE_UP]
    assert set(reusable["on"]) == {"workflow_call"}
    (job,) = reusable["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}", "the environment's reviewers and secrets apply"
    assert job["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}
    up = _up_step(job)
    assert up["env"]["STACK"] == "${{ inputs.stack }}"
    assert 'pulumi up --stack "$STACK"' in up["run"]


def test_azure_login_uses_the_environment_secrets_and_the_stacks_own_subscription(
    workflows: dict[str, dict[str, Any]],
) -> None:
    (job,) = workflows[REUSABLE_UP]["jobs"].values()
    (login,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("azure/login@")]
    assert login["with"] == {
        "client-id": "${{ secrets.AZURE_CLIENT_ID }}",
        "tenant-id": "${{ secrets.AZURE_TENANT_ID }}",
        "subscription-id": SUBSCRIPTION_OUTPUT,
    }
    assert "client-secret" not in str(job), "OIDC only: no client secret anywhere"


SUBSCRIPTION_OUTPUT = "${{ steps.stack.outputs.subscription-id }}"


@pytest.mark.parametrize(
    ("workflow", "stack_expression"),
    [("pr.yml", "${{ matrix.stack }}"), (REUSABLE_UP, "${{ inputs.stack }}")],
)
def test_every_pulumi_job_logs_in_to_the_subscription_its_stack_file_names(
    workflows: dict[str, dict[str, Any]], workflow: str, stack_expression: str
) -> None:
    """One subscription per stack, read from Pulumi.<stack>.yaml: never one repository secret for all."""
    (job,) = [
        j for j in workflows[workflow]["jobs"].values()
        if any(str(s.get("uses", "")).startswith(PULUMI_ACTION) for s in j.get("steps", []))
    ]  # fmt: skip
    (reader,) = [s for s in job["steps"] if s.get("id") == "stack"]
    assert reader["run"] == '.venv/bin/python -m stacks.subscription "$STACK" >> "$GITHUB_OUTPUT"'
    assert reader["env"] == {"STACK": stack_expression}
    (login,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("azure/login@")]
    (up,) = [s for s in job["steps"] if s.get("name") in ("pulumi up", "pulumi preview")]
    assert login["with"]["subscription-id"] == up["env"]["ARM_SUBSCRIPTION_ID"] == SUBSCRIPTION_OUTPUT
    assert "AZURE_SUBSCRIPTION_ID" not in str(job)


def test_previews_comment_once_per_stack_and_read_no_live_state(jobs: list[Job]) -> None:
    (preview,) = [s for s in _preview_job(jobs).steps if s.runs(PULUMI_ACTION)]
    assert preview.body["with"]["command"] == "preview"
    assert preview.body["with"]["stack-name"] == "${{ matrix.stack }}"
    assert preview.body["with"]["comment-on-pr"] is True
    assert preview.body["with"]["edit-pr-comment"] is True
    assert preview.body["with"]["policyPacks"] == "policy"
    # A refresh reads every resource's live state; the read-only preview identity may not (docs/ci.md).
    assert "refresh" not in preview.body["with"]
    # ... and Pulumi.yaml's `refresh: always` is turned off the only way pulumi/actions allows.
    assert preview.body["env"]["PULUMI_OPTION_REFRESH"] == "false"


def test_deploys_refresh_and_apply_the_policy_pack(workflows: dict[str, dict[str, Any]]) -> None:
    (job,) = workflows[REUSABLE_UP]["jobs"].values()
    command = _up_step(job)["run"].splitlines()[-1].split()
    assert "--refresh" in command
    assert command[command.index("--policy-pack") + 1] == "policy"


def _up_step(job: dict[str, Any]) -> dict[str, Any]:
    (up,) = [s for s in job["steps"] if s.get("name") == "pulumi up"]
    return up


def test_the_cli_is_pinned_at_a_version_that_reads_pulumi_option_flags(jobs: list[Job]) -> None:
    """Unpinned, pulumi/actions installs whatever `^3` the runner has: before 3.208.0 the CLI
    ignores PULUMI_OPTION_REFRESH (pulumi/pulumi CHANGELOG 3.208.0, "Expose all command flags as
    env vars"), and every PR preview would refresh as the read-only identity."""
    pinned = (ROOT / ".pulumi-version").read_text(encoding="utf-8").strip()
    assert tuple(int(part) for part in pinned.split(".")) >= (3, 208, 0)
    steps = [s for job in jobs for s in job.steps if s.runs(PULUMI_ACTION)]
    assert len(steps) == 2  # the preview, and the deploy's install
    for step in steps:
        assert step.body["with"]["pulumi-version-file"] == ".pulumi-version", step.workflow
        assert "pulumi-version" not in step.body["with"]


def test_no_workflow_exports_a_passphrase() -> None:
    """Every stack CI touches uses its Key Vault key; an empty PULUMI_CONFIG_PASSPHRASE counts as
    set (pulumi/pulumi pkg/secrets/passphrase/manager.go, os.LookupEnv) and would encrypt a stack
    whose committed file names no key with the empty passphrase."""
    for path in sorted((ROOT / ".github").rglob("*.yml")):
        assert "PULUMI_CONFIG_PASSPHRASE" not in path.read_text(encoding="utf-8"), path.name


def test_every_pulumi_job_checks_the_stacks_secrets_provider_first(jobs: list[Job]) -> None:
    for job in jobs:
        names = [s.body.get("name") for s in job.steps]
        if "pulumi up" in names or "pulumi preview" in names:
            (check,) = [s for s in job.steps if s.body.get("name") == "Secrets provider of the stack"]
            assert check.body["run"] == '.venv/bin/python -m stacks.secrets_provider "$STACK"'
            login = next(i for i, s in enumerate(job.steps) if s.runs("azure/login"))
            assert names.index("Secrets provider of the stack") < login, job.workflow


def test_pull_requests_from_forks_get_no_preview_and_no_identity(jobs: list[Job]) -> None:
    job = _preview_job(jobs)
    assert job.body["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job.body["strategy"]["fail-fast"] is False, "one failing stack does not hide the others"


def test_previews_run_after_lint_tests_and_the_wheel(jobs: list[Job]) -> None:
    (checks,) = [j for j in jobs if j.workflow == "pr.yml" and j.name == _preview_job(jobs).body["needs"]]
    commands = [s.body["run"] for s in checks.steps if "run" in s.body]
    assert commands == ["make lint", "make unit", "make wheel"]
