"""Branches deploy the right stacks, in their GitHub environments, one deployment per stack at a time."""

from __future__ import annotations

from typing import Any

from workflow_files import ROOT, Job

from stacks.environment import Environment

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


def test_main_deploys_dev_and_release_branches_deploy_uat(
    workflows: dict[str, dict[str, Any]], jobs: list[Job]
) -> None:
    assert _triggers(workflows, "deploy.yml")["push"]["branches"] == ["main", "release/**"]
    deploys = _deploying(jobs, "deploy.yml")
    assert deploys["dev"].body["if"] == "github.ref == 'refs/heads/main'"
    assert deploys["uat"].body["if"] == "startsWith(github.ref, 'refs/heads/release/')"


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
    (up,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith(PULUMI_ACTION)]
    assert up["with"]["command"] == "up"
    assert up["with"]["stack-name"] == "${{ inputs.stack }}"


def test_azure_login_uses_the_environment_secrets_the_github_component_writes(
    workflows: dict[str, dict[str, Any]],
) -> None:
    (job,) = workflows[REUSABLE_UP]["jobs"].values()
    (login,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("azure/login@")]
    assert login["with"] == {
        "client-id": "${{ secrets.AZURE_CLIENT_ID }}",
        "tenant-id": "${{ secrets.AZURE_TENANT_ID }}",
        "subscription-id": "${{ secrets.AZURE_SUBSCRIPTION_ID }}",
    }
    assert "client-secret" not in str(job), "OIDC only: no client secret anywhere"


def test_previews_comment_once_per_stack_and_edit_that_comment(jobs: list[Job]) -> None:
    (preview,) = [s for s in _preview_job(jobs).steps if s.runs(PULUMI_ACTION)]
    assert preview.body["with"]["command"] == "preview"
    assert preview.body["with"]["stack-name"] == "${{ matrix.stack }}"
    assert preview.body["with"]["comment-on-pr"] is True
    assert preview.body["with"]["edit-pr-comment"] is True
    assert preview.body["with"]["policyPacks"] == "${{ steps.policy.outputs.packs }}"


def test_pull_requests_from_forks_get_no_preview_and_no_identity(jobs: list[Job]) -> None:
    job = _preview_job(jobs)
    assert job.body["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job.body["strategy"]["fail-fast"] is False, "one failing stack does not hide the others"


def test_previews_run_after_lint_tests_and_the_wheel(jobs: list[Job]) -> None:
    (checks,) = [j for j in jobs if j.workflow == "pr.yml" and j.name == _preview_job(jobs).body["needs"]]
    commands = [s.body["run"] for s in checks.steps if "run" in s.body]
    assert commands == ["make lint", "make unit", "make wheel"]
