"""Branches deploy the right stacks, in their GitHub environments, through main's copy of the
reusable workflows; one operation per stack at a time; pull requests preview sandbox and dev only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rehearsal import matches
from workflow_files import ROOT, Job

from core.deployments import (
    DEPLOY_WORKFLOW,
    DEPLOYMENT_RULES,
    PR_PREVIEW_WORKFLOW,
    PULL_REQUEST_PREVIEWS,
    RELEASE_PREVIEW_WORKFLOW,
    TRUSTED_REF,
)
from core.environment import Environment
from stacks.plan import stack_settings

PULUMI_ACTION = "pulumi/actions"
DEPLOY = DEPLOY_WORKFLOW.rsplit("/", 1)[-1]
RELEASE_PREVIEW = RELEASE_PREVIEW_WORKFLOW.rsplit("/", 1)[-1]
PR_PREVIEW = PR_PREVIEW_WORKFLOW.rsplit("/", 1)[-1]
REUSABLE = (DEPLOY, RELEASE_PREVIEW, PR_PREVIEW)
MAIN = TRUSTED_REF.removeprefix("refs/heads/")


def _stack_files() -> set[str]:
    """The stacks of this repository: `Pulumi.<stack>.yaml` once they exist, else the Environment enum."""
    files = {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml")}
    return files or {e.value for e in Environment}


def _preview_job(jobs: list[Job]) -> Job:
    (job,) = [j for j in jobs if j.workflow == "pr.yml" and j.calls == PR_PREVIEW]
    return job


def _calling(jobs: list[Job], workflow: str, reusable: str = DEPLOY) -> dict[str, Job]:
    """Stack -> the job of ``workflow`` that runs ``reusable`` for it."""
    return {str(j.body["with"]["stack"]): j for j in jobs if j.workflow == workflow and j.calls == reusable}


def _triggers(workflows: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    return dict(workflows[name]["on"])


def _one_job(workflows: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    (job,) = workflows[name]["jobs"].values()
    return dict(job)


def _step(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith(action)]
    return dict(step)


def test_every_cloud_login_runs_mains_copy_of_a_reusable_workflow(jobs: list[Job]) -> None:
    """Issue 29, findings 3 and 6: the identities trust only tokens of these workflows at main
    (core/github_oidc.py), so every job that logs in calls them at main, naming this repository."""
    owner, repository = (
        stack_settings(Environment.DEV).github.owner,
        stack_settings(Environment.DEV).github.repository,
    )
    callers = [j for j in jobs if j.calls in REUSABLE]
    assert {j.workflow for j in callers} == {"pr.yml", "deploy.yml", "promote.yml"}
    for job in callers:
        assert job.body["uses"] == f"{owner}/{repository}/.github/workflows/{job.calls}@{MAIN}", job.name
    # Nothing else asks for an OIDC token.
    logging_in = {(j.workflow, j.name) for j in jobs if j.permissions.get("id-token") == "write"}
    called = {(DEPLOY, "up"), (RELEASE_PREVIEW, "preview"), (PR_PREVIEW, "preview")}
    assert logging_in == {(j.workflow, j.name) for j in callers} | called


def test_pull_requests_preview_sandbox_and_dev_only(jobs: list[Job]) -> None:
    """Issue 29, finding 1: a pull request's code runs with the preview's token."""
    previewed = set(_preview_job(jobs).body["strategy"]["matrix"]["stack"])
    assert previewed == {e.value for e in PULL_REQUEST_PREVIEWS}


def test_ci_deploys_every_stack_but_sandbox_and_previews_prod_before_its_reviewers_approve(
    jobs: list[Job], workflows: dict[str, dict[str, Any]]
) -> None:
    deployed = _calling(jobs, "deploy.yml") | _calling(jobs, "promote.yml")
    assert set(deployed) == _stack_files() - {Environment.SANDBOX.value}
    assert set(_calling(jobs, "promote.yml", RELEASE_PREVIEW)) == {Environment.PROD.value}
    promote = workflows["promote.yml"]["jobs"]
    assert promote["prod"]["needs"] == "preview", "the reviewers read main's preview first"


def test_branch_filters_are_the_environments_deployment_rules(workflows: dict[str, dict[str, Any]]) -> None:
    """One pattern from one place (core/deployments.py): deploy.yml triggers on exactly the branches
    dev and uat accept (release/**, say, would start uat runs for release/a/b that the environment
    then refuses); pull requests target main, the only branch reviewed changes reach."""
    deployable = [*DEPLOYMENT_RULES["dev"].branches, *DEPLOYMENT_RULES["uat"].branches]
    assert _triggers(workflows, "deploy.yml")["push"]["branches"] == deployable
    assert _triggers(workflows, "pr.yml")["pull_request"]["branches"] == [MAIN]


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
        name: job for name, job in _calling(jobs, "deploy.yml").items()
        if triggered and _job_runs_for(job, f"refs/heads/{branch}")
    }  # fmt: skip
    assert set(runs) == ({stack} if stack else set())
    for name in runs:
        assert matches(DEPLOYMENT_RULES[name].branches, branch)


def _job_runs_for(job: Job, ref: str) -> bool:
    condition = str(job.body["if"])
    if condition == "github.ref == 'refs/heads/main'":
        return ref == "refs/heads/main"
    prefix = re.fullmatch(r"startsWith\(github\.ref, '([^']+)'\)", condition)
    assert prefix, f"{job.name}: condition {condition!r} is not one this test models"
    return ref.startswith(prefix[1])


def test_prod_deploys_when_a_promotion_changes_its_stack_file_on_main_or_by_hand(
    workflows: dict[str, dict[str, Any]],
) -> None:
    triggers = _triggers(workflows, "promote.yml")
    assert triggers["push"] == {"branches": ["main"], "paths": ["Pulumi.prod.yaml"]}
    assert "workflow_dispatch" in triggers


@pytest.mark.parametrize("workflow", [DEPLOY, RELEASE_PREVIEW])
def test_a_commit_not_on_main_is_refused_before_any_of_its_code_runs(
    workflows: dict[str, dict[str, Any]], workflow: str
) -> None:
    """Issue 29, findings 3 and 6: a release branch or tag may point at any commit; main's copy of
    the workflow deploys only commits on main, checked with git before the commit's own code runs
    (its composite action, its Makefile). The rehearsal runs it (test_pipeline_rehearsal.py)."""
    job = _one_job(workflows, workflow)
    steps = job["steps"]
    assert str(steps[0]["uses"]).startswith("actions/checkout@")
    assert steps[0]["with"]["fetch-depth"] == 0  # main's history
    check = steps[1]
    assert 'git merge-base --is-ancestor "$GITHUB_SHA" "$MAIN"' in check["run"]
    assert check["env"] == {"MAIN": "refs/remotes/origin/main"}
    assert steps[2]["uses"] == "./.github/actions/setup"  # the commit's code runs only after the check


def test_pulumi_up_runs_in_the_environment_of_its_stack_and_is_never_cancelled(
    workflows: dict[str, dict[str, Any]],
) -> None:
    reusable = workflows[DEPLOY]
    assert set(reusable["on"]) == {"workflow_call"}
    job = _one_job(workflows, DEPLOY)
    assert job["environment"] == "${{ inputs.stack }}", "the environment's reviewers and secrets apply"
    assert job["concurrency"] == {"group": "pulumi-${{ inputs.stack }}", "cancel-in-progress": False}
    up = _up_step(job)
    assert up["env"]["STACK"] == "${{ inputs.stack }}"
    assert 'pulumi up --stack "$STACK"' in up["run"]
    assert up["env"]["PULUMI_BACKEND_URL"] == "${{ steps.stack.outputs.backend-url }}"


def test_the_release_preview_runs_in_the_stacks_preview_environment(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """The release preview identity trusts only its `<stack>-preview` environment (main and v* tags),
    and main's workflow refuses any other environment for the stack before the login."""
    job = _one_job(workflows, RELEASE_PREVIEW)
    assert job["environment"] == "${{ inputs.stack }}-preview"
    (reader,) = [s for s in job["steps"] if s.get("id") == "stack"]
    assert '--environment "$ENVIRONMENT"' in reader["run"]
    assert reader["env"]["ENVIRONMENT"] == job["environment"]
    preview = _step(job, PULUMI_ACTION)
    assert preview["with"]["diff"] is True, "what the prod reviewers read before they approve"
    assert preview["env"]["PULUMI_OPTION_REFRESH"] == "false"


def _up_step(job: dict[str, Any]) -> dict[str, Any]:
    (up,) = [s for s in job["steps"] if s.get("name") == "pulumi up"]
    return dict(up)


@pytest.mark.parametrize(
    ("workflow", "client_id"),
    [
        (DEPLOY, "AZURE_CLIENT_ID"),
        (RELEASE_PREVIEW, "AZURE_CLIENT_ID"),
        (PR_PREVIEW, "AZURE_PREVIEW_CLIENT_ID"),
    ],
)
def test_azure_login_uses_the_callers_secrets_and_the_stacks_own_subscription(
    workflows: dict[str, dict[str, Any]], workflow: str, client_id: str
) -> None:
    job = _one_job(workflows, workflow)
    assert _step(job, "azure/login@")["with"] == {
        "client-id": f"${{{{ secrets.{client_id} }}}}",
        "tenant-id": "${{ secrets.AZURE_TENANT_ID }}",
        "subscription-id": SUBSCRIPTION_OUTPUT,
    }
    assert "client-secret" not in str(job), "OIDC only: no client secret anywhere"


SUBSCRIPTION_OUTPUT = "${{ steps.stack.outputs.subscription-id }}"


@pytest.mark.parametrize("workflow", REUSABLE)
def test_every_pulumi_job_logs_in_to_the_subscription_and_backend_its_stack_file_names(
    workflows: dict[str, dict[str, Any]], workflow: str
) -> None:
    """One subscription and one state container per stack, read from Pulumi.<stack>.yaml: never one
    repository value for all (each environment's state is its own, core/backend.py)."""
    job = _one_job(workflows, workflow)
    (reader,) = [s for s in job["steps"] if s.get("id") == "stack"]
    assert reader["run"].startswith('.venv/bin/python -m stacks.subscription "$STACK"')
    assert reader["env"]["STACK"] == "${{ inputs.stack }}"
    (pulumi,) = [s for s in job["steps"] if s.get("name") in ("pulumi up", "pulumi preview")]
    login = _step(job, "azure/login@")
    assert login["with"]["subscription-id"] == pulumi["env"]["ARM_SUBSCRIPTION_ID"] == SUBSCRIPTION_OUTPUT
    backend = "${{ steps.stack.outputs.backend-url }}"
    assert backend in (pulumi.get("with", {}).get("cloud-url"), pulumi["env"].get("PULUMI_BACKEND_URL"))
    assert "AZURE_SUBSCRIPTION_ID" not in str(job)


def test_pull_request_previews_read_no_live_state_and_write_nothing_back(
    workflows: dict[str, dict[str, Any]],
) -> None:
    """Issue 29, finding 10: the job runs the pull request's code, so it may not write comments
    (a forged preview comment), and it prints no property values (ids) into a public log."""
    job = _one_job(workflows, PR_PREVIEW)
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    preview = _step(job, PULUMI_ACTION)
    assert preview["with"]["command"] == "preview"
    assert preview["with"]["policyPacks"] == "policy"
    for key in ("comment-on-pr", "edit-pr-comment", "diff", "refresh"):
        assert key not in preview["with"], key
    # Pulumi.yaml's `refresh: always` is turned off the only way pulumi/actions allows.
    assert preview["env"]["PULUMI_OPTION_REFRESH"] == "false"


def test_deploys_refresh_and_apply_the_policy_pack(workflows: dict[str, dict[str, Any]]) -> None:
    command = _up_step(_one_job(workflows, DEPLOY))["run"].splitlines()[-1].split()
    assert "--refresh" in command
    assert command[command.index("--policy-pack") + 1] == "policy"


def test_the_cli_is_pinned_at_a_version_that_reads_pulumi_option_flags(jobs: list[Job]) -> None:
    """Unpinned, pulumi/actions installs whatever `^3` the runner has: before 3.208.0 the CLI
    ignores PULUMI_OPTION_REFRESH (pulumi/pulumi CHANGELOG 3.208.0, "Expose all command flags as
    env vars"), and every PR preview would refresh as the read-only identity."""
    pinned = (ROOT / ".pulumi-version").read_text(encoding="utf-8").strip()
    assert tuple(int(part) for part in pinned.split(".")) >= (3, 208, 0)
    steps = [s for job in jobs for s in job.steps if s.runs(PULUMI_ACTION)]
    assert len(steps) == 3  # the two previews, and the deploy's install
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
    checked = 0
    for job in jobs:
        names = [s.body.get("name") for s in job.steps]
        if "pulumi up" in names or "pulumi preview" in names:
            (check,) = [s for s in job.steps if s.body.get("name") == "Secrets provider of the stack"]
            assert check.body["run"].startswith('.venv/bin/python -m stacks.secrets_provider "$STACK"')
            login = next(i for i, s in enumerate(job.steps) if s.runs("azure/login"))
            assert names.index("Secrets provider of the stack") < login, job.workflow
            checked += 1
    assert checked == len(REUSABLE)


def test_pull_requests_from_forks_get_no_preview_and_no_identity(jobs: list[Job]) -> None:
    job = _preview_job(jobs)
    assert job.body["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job.body["strategy"]["fail-fast"] is False, "one failing stack does not hide the others"


def test_previews_run_after_lint_tests_and_the_wheel(jobs: list[Job]) -> None:
    (checks,) = [j for j in jobs if j.workflow == "pr.yml" and j.name == _preview_job(jobs).body["needs"]]
    commands = [s.body["run"] for s in checks.steps if "run" in s.body]
    assert commands == ["make lint", "make unit", "make wheel"]


def _named(job: Job, name: str) -> dict[str, Any]:
    (step,) = [s.body for s in job.steps if s.body.get("name") == name]
    return step


def test_the_deploy_job_creates_its_stack_and_guards_the_move_before_pulumi_up(jobs: list[Job]) -> None:
    """Issue 25: the first deploy creates the stack with the stack file's Key Vault key (never the
    DIY backend's default passphrase), and every deploy runs the deployer-move guard on the stack's
    export first, with pipefail, so a failed export is no empty state."""
    (deploy,) = [j for j in jobs if j.workflow == DEPLOY]
    names = [s.body.get("name") for s in deploy.steps]
    state = _named(deploy, "The stack in its state")
    assert names.index("The stack in its state") < names.index("pulumi up")
    assert state["shell"] == "bash"
    assert state["env"]["SECRETS_PROVIDER"] == "${{ steps.secrets.outputs.secrets-provider }}"
    assert state["run"].splitlines() == [
        'pulumi login "$PULUMI_BACKEND_URL"',
        'pulumi stack select "$STACK" --create --secrets-provider "$SECRETS_PROVIDER" --non-interactive',
        'pulumi stack export --stack "$STACK" | .venv/bin/python -m stacks.deployer_move "$STACK"',
    ]


def test_only_the_deploy_job_signs_in_to_databricks_with_az_and_asks_for_its_tokens_first(
    jobs: list[Job],
) -> None:
    """The deploy job's provider uses az's login (the management token admits the deployer to a
    new workspace); it asks az for exactly the tokens the sdk will ask for, right after the login,
    while the ID token is fresh. Previews keep github-oidc-azure as their read-only identity."""
    from databricks.sdk.environments import ARM_DATABRICKS_RESOURCE_ID, ENVIRONMENTS  # noqa: PLC0415

    for job in jobs:
        names = [s.body.get("name") for s in job.steps]
        declared = [s.body["env"].get("DATABRICKS_AUTH_TYPE") for s in job.steps if "env" in s.body]
        if job.workflow != DEPLOY:
            assert not any(declared), job.workflow
            continue
        assert _named(job, "pulumi up")["env"]["DATABRICKS_AUTH_TYPE"] == "azure-cli"
        login = next(i for i, s in enumerate(job.steps) if s.runs("azure/login"))
        assert names[login + 1] == "Entra tokens for the Databricks provider"
        tokens = _named(job, "Entra tokens for the Databricks provider")["run"]
        asked = re.findall(r"--resource (\S+)", tokens)
        assert asked == [ARM_DATABRICKS_RESOURCE_ID, ENVIRONMENTS["PUBLIC"].service_management_endpoint]
