"""The PR preview, the deploy job and prod's post-merge preview, rehearsed in a fresh clone as a runner
would run them.

See rehearsal.py (how a job runs, and Azure's side of the login) and pulumi_standin.py (what the
stand-in CLI checks). The preview is rehearsed for dev by default;
``REHEARSAL_STACKS=sandbox,dev`` rehearses every stack a pull request previews (``pytest -s``
prints each transcript). Each defect the rehearsal exists for is reintroduced below, in a clone,
and must make it fail with the complaint the real run would give.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import standin_state
from clone_setup import fresh_clone, link_venv, stand_in_dir, tool_dir
from plan_server import SERVER_VARIABLE
from rehearsal import Environment, Event, RehearsalError, Repository, Runner
from ruamel.yaml import YAML
from workflow_files import ROOT

from core.environment import Environment as Stack
from stacks.offline import OfflineRun, RecordedResource, fake_guid
from stacks.offline_fakes import fake_id
from stacks.subscription import stack_subscription

ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
ENVIRONMENT_SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"  # noqa: S105  # pragma: allowlist secret
REPOSITORY_SECRET = "github:index/actionsSecret:ActionsSecret"  # noqa: S105  # pragma: allowlist secret
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
CONTAINER = "azure-native:storage:BlobContainer"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
PREVIEW_STACKS = os.environ.get("REHEARSAL_STACKS", Stack.DEV.value).split(",")
PULL_REQUEST = Event("pull_request", "main")
PUSH_TO_MAIN = Event("push", "main")
PUSH_RELEASE = Event("push", "release/9.9")


@dataclass(frozen=True)
class Job:
    workflow: str
    job: str
    event: Event
    matrix: tuple[tuple[str, str], ...] = ()


PREVIEW_DEV = Job("pr.yml", "preview", PULL_REQUEST, (("stack", "dev"),))
UP_DEV = Job("deploy.yml", "dev", PUSH_TO_MAIN)
UP_UAT = Job("deploy.yml", "uat", PUSH_RELEASE)
PROD_PREVIEW = Job("promote.yml", "preview", PUSH_TO_MAIN)


def _of_environment(run: OfflineRun, component: str, type_: str) -> list[RecordedResource]:
    return [r for r in run.of_type(type_) if r.parent.endswith(f"::{component}")]


@pytest.fixture(scope="module")
def repository(bootstrap_run: OfflineRun, plans: dict[Stack, OfflineRun]) -> Repository:
    """The repository as CI sees it: the bootstrap's repository secrets and GitHub environments (their
    deployment policies and secrets, as planned), and every subject a federated credential of the
    plans trusts (the bootstrap's preview identities, each stack's deployer)."""
    environments = {}
    for environment in bootstrap_run.of_type(ENVIRONMENT):
        component = environment.parent.rsplit("::", 1)[-1]
        policies = [p.plain_inputs() for p in _of_environment(bootstrap_run, component, POLICY)]
        secrets = [s.plain_inputs() for s in _of_environment(bootstrap_run, component, ENVIRONMENT_SECRET)]
        environments[environment.plain_inputs()["environment"]] = Environment(
            branch_patterns=tuple(p["branchPattern"] for p in policies if p.get("branchPattern")),
            secrets={s["secretName"]: s["value"] for s in secrets},
            variables={},
        )
    runs = [bootstrap_run, *plans.values()]
    return Repository(
        state_access=_state_access(bootstrap_run),
        full_name=bootstrap_run.exports["githubRepository"],
        secrets={
            s.plain_inputs()["secretName"]: s.plain_inputs()["value"]
            for s in bootstrap_run.of_type(REPOSITORY_SECRET)
        },
        variables={},
        environments=environments,
        trusted_subjects=frozenset(
            c.plain_inputs()["subject"] for run in runs for c in run.of_type(FEDERATED)
        ),
    )


def _state_access(bootstrap: OfflineRun) -> dict[str, frozenset[str]]:
    """Client id -> the state containers its identity has a blob data role on, as the bootstrap
    grants them: the preview identities and each deployer, all the bootstrap's (the mocks' ids,
    stacks/offline_fakes.py)."""
    containers = {
        fake_id(CONTAINER, c.name): c.plain_inputs()["containerName"] for c in bootstrap.of_type(CONTAINER)
    }
    principal_of = {
        fake_guid("client", i.name): fake_guid("principal", i.name) for i in bootstrap.of_type(IDENTITY)
    }
    granted: dict[str, set[str]] = {}
    for grant in bootstrap.of_type(ROLE_ASSIGNMENT):
        inputs = grant.plain_inputs()
        if inputs["scope"] in containers:
            granted.setdefault(inputs["principalId"], set()).add(containers[inputs["scope"]])
    return {client: frozenset(granted.get(principal, ())) for client, principal in principal_of.items()}


def _git(clone: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=clone, check=True, capture_output=True)


def _commit(clone: Path, message: str) -> None:
    _git(clone, "add", "-A")
    _git(clone, "-c", "user.name=r", "-c", "user.email=r@example.invalid", "commit", "-q", "-m", message)


def rehearse(  # noqa: PLR0917 - the rehearsal's one entry point, called by keyword past `job`
    tmp_path: Path,
    repository: Repository,
    job: Job,
    mutate: Callable[[Path], None] | None = None,
    plan_server: str | None = None,
    off_main: Callable[[Path], None] | None = None,
    *,
    initialised: bool = True,
    created: tuple[str, ...] | None = None,
) -> list[str]:
    """Clone as main, reintroduce a defect if asked, then run ``job`` as a runner would.

    ``off_main`` makes the checked-out commit one that is not on main (a release branch or tag a
    release manager pointed elsewhere), after this change to it. ``initialised``: the stack files
    name their Key Vault keys as an organisation's committed files do, and the stacks ``created``
    (default: all) exist in the backend, as `make bootstrap` left them; else only what ``mutate``
    does (the bootstrap's own steps).
    """
    clone = fresh_clone(ROOT, tmp_path / "clone")
    for stack in Stack if initialised else ():
        path = clone / f"Pulumi.{stack.value}.yaml"
        _edit_yaml(path, _stack_initialised(stack.value))
        if created is None or stack.value in created:
            key = YAML(typ="safe").load(path.read_text(encoding="utf-8"))["secretsprovider"]
            standin_state.select(tmp_path / "backend", clone, stack.value, create=True, provider=key)
    if mutate is not None:
        mutate(clone)
    _git(clone, "init", "-q", "-b", "main")
    _commit(clone, "main")
    _git(clone, "update-ref", "refs/remotes/origin/main", "HEAD")
    if off_main is not None:
        off_main(clone)
        _commit(clone, "elsewhere")
    link_venv(clone, ROOT / ".venv")
    tools, stand_in = tool_dir(ROOT, tmp_path / "tools"), stand_in_dir(tmp_path / "bin")
    runner = Runner(clone, repository, tools, stand_in, plan_server)
    runner.run_job(job.workflow, job.job, job.event, dict(job.matrix))
    return runner.transcript


def _assert_pulumi_ran(transcript: list[str], stack: str, command: str) -> None:
    text = "\n".join(transcript)
    print(text)  # noqa: T201 - the transcript is the rehearsal's report (pytest -s)
    for expected in (
        f"pulumi {command} --stack {stack}",
        "toolchain pip: `.venv/bin/python -m pip list` lists",
        "plugins: pulumi-azure-native, pulumi-databricks, pulumi-github, pulumiverse-time",
        "policy pack 'mlops-platform-policies' loads in policy/venv with",
        "wheel: dist/iris/iris_mlops-",
        "credentials present: ARM_CLIENT_ID, ARM_TENANT_ID, ARM_SUBSCRIPTION_ID; "
        "secrets provider: azurekeyvault",
        f"logged in to the stack's own state: azblob://pulumi-state-{stack}?",
        "Azure accepts the token's subject repo:",
        f"resources planned for {stack}; policy pack: 0 mandatory violation(s)",
        # Not what the job proves, but what keeps the rehearsal cheap: a refusal names its reason.
        "program started warm",
    ):
        assert expected in text


@pytest.mark.parametrize("stack", PREVIEW_STACKS)
def test_the_pr_preview_runs_on_a_runner(
    tmp_path: Path, repository: Repository, plan_server: str, stack: str
) -> None:
    preview = Job("pr.yml", "preview", PULL_REQUEST, (("stack", stack),))
    transcript = rehearse(tmp_path, repository, preview, plan_server=plan_server)
    _assert_pulumi_ran(transcript, stack, "preview")
    # Previews read no live state (docs/ci.md), although Pulumi.yaml says `refresh: always`.
    assert "refresh: off (--refresh=false)" in "\n".join(transcript)


def test_pulumi_up_of_dev_runs_on_a_runner(tmp_path: Path, repository: Repository, plan_server: str) -> None:
    """... and creates dev's stack where it does not exist (an environment added after make bootstrap)."""
    others = tuple(s.value for s in Stack if s is not Stack.DEV)
    transcript = rehearse(tmp_path, repository, UP_DEV, plan_server=plan_server, created=others)
    _assert_pulumi_ran(transcript, "dev", "up")
    text = "\n".join(transcript)
    assert "Created stack 'dev' (secrets provider azurekeyvault)" in text
    assert "refresh: on (--refresh=true)" in text
    assert "calls pulumi-up.yml:up in environment 'dev'" in text
    assert "Deploy only commits on main: $ git merge-base" in text


def test_prods_post_merge_preview_runs_as_the_release_preview_identity(
    tmp_path: Path, repository: Repository, plan_server: str
) -> None:
    """What the prod reviewers read before they approve: main's code, planned with the read-only
    release preview identity in the prod-preview environment (promote.yml)."""
    transcript = rehearse(tmp_path, repository, PROD_PREVIEW, plan_server=plan_server)
    _assert_pulumi_ran(transcript, "prod", "preview")
    text = "\n".join(transcript)
    assert "calls release-preview.yml:preview in environment 'prod-preview'" in text
    assert "refresh: off (--refresh=false)" in text
    assert ":environment:prod-preview:job_workflow_ref:" in text


# ---- each defect, reintroduced in a clone, fails the rehearsal ----------------------------------


def _edit_yaml(path: Path, edit: Callable[[Any], object]) -> None:
    yaml = YAML()
    document = yaml.load(path)
    edit(document)
    yaml.dump(document, path)


def _stack_initialised(stack: str) -> Callable[[Any], object]:
    """What `pulumi stack init <stack> --secrets-provider azurekeyvault://...` writes into the stack
    file, committed as the first-deploy sequence says (docs/ci.md)."""

    def edit(document: Any) -> None:
        document["secretsprovider"] = (
            f"azurekeyvault://kv-mlops-sp-rehearsal.vault.azure.net/keys/stack-{stack}"
        )
        document["encryptedkey"] = "cmVoZWFyc2FsLWRhdGEta2V5"

    return edit


def _no_secrets_provider(clone: Path) -> None:
    """The stack file as the repository had it: `pulumi stack init` wrote it, nobody committed it."""
    _edit_yaml(
        clone / "Pulumi.dev.yaml",
        lambda document: [document.pop(k) for k in ("secretsprovider", "encryptedkey")],
    )


def _empty_passphrase(clone: Path) -> None:
    """No key in the stack file, no check before `pulumi`, and the passphrase secret exported empty."""
    _no_secrets_provider(clone)

    def edit(document: Any) -> None:
        steps = document["jobs"]["up"]["steps"]
        steps[:] = [step for step in steps if step.get("name") != "Secrets provider of the stack"]
        for step in steps:
            if step.get("name") in ("The stack in its state", "pulumi up"):
                step["env"]["PULUMI_CONFIG_PASSPHRASE"] = ""

    _edit_yaml(clone / ".github" / "workflows" / "pulumi-up.yml", edit)


def _drop_preview_step(name: str) -> Callable[[Path], None]:
    def mutate(clone: Path) -> None:
        def edit(document: Any) -> None:
            steps = document["jobs"]["preview"]["steps"]
            steps[:] = [step for step in steps if step.get("name") != name]

        _edit_yaml(clone / ".github" / "workflows" / "pr-preview.yml", edit)

    return mutate


def _no_pip_in_the_lock(clone: Path) -> None:
    lock = clone / "requirements.lock"
    text, count = re.subn(r"^pip==.*?(?=^\S)", "", lock.read_text(encoding="utf-8"), flags=re.M | re.S)
    assert count == 1
    lock.write_text(text, encoding="utf-8")


def _no_secrets_passed(clone: Path) -> None:
    workflows = clone / ".github" / "workflows"
    _edit_yaml(workflows / "deploy.yml", lambda document: document["jobs"]["dev"].pop("secrets"))
    _edit_yaml(workflows / "pulumi-up.yml", lambda document: document["on"]["workflow_call"].pop("secrets"))


def _calls_its_own_copy(clone: Path) -> None:
    """The caller runs the reusable workflow of its own ref, as before issue 29."""
    path = clone / ".github" / "workflows" / "deploy.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        re.sub(
            r"uses: \S+/\.github/workflows/pulumi-up\.yml@main",
            "uses: ./.github/workflows/pulumi-up.yml",
            text,
        )
    )


def _skips_the_check(clone: Path) -> None:
    """The deployed commit's own copy of the workflow drops the check: main's copy still runs."""
    _edit_yaml(
        clone / ".github" / "workflows" / "pulumi-up.yml",
        lambda document: document["jobs"]["up"]["steps"].pop(1),
    )


def _own_copy_without_the_check(clone: Path) -> None:
    """... and builds nothing either: its own copy logs in straight away."""
    _calls_its_own_copy(clone)

    def edit(document: Any) -> None:
        steps = document["jobs"]["up"]["steps"]
        skipped = ("Deploy only commits on main", "Wheel", "Policy pack virtualenv")
        steps[:] = [step for step in steps if step.get("name") not in skipped]

    _edit_yaml(clone / ".github" / "workflows" / "pulumi-up.yml", edit)


def _changes_code(clone: Path) -> None:
    (clone / "README.md").write_text("unreviewed\n", encoding="utf-8")


def _uat_from_a_pull_request_identity(clone: Path) -> None:
    """A pull request previews uat (finding 1): nothing trusts it, and its identity reads no uat state."""
    _edit_yaml(
        clone / ".github" / "workflows" / "pr.yml",
        lambda document: document["jobs"]["preview"]["strategy"]["matrix"].__setitem__("stack", ["uat"]),
    )


@dataclass(frozen=True)
class Defect:
    job: Job
    mutate: Callable[[Path], None] | None
    complaint: str
    off_main: Callable[[Path], None] | None = None


DEFECTS = {
    "1 the preview job builds no wheel": Defect(
        PREVIEW_DEV, _drop_preview_step("Wheel"), "no wheel in dist/iris/ (run `make wheel` in this job)"
    ),
    "2 nothing creates the policy pack's venv": Defect(
        PREVIEW_DEV,
        _drop_preview_step("Policy pack virtualenv"),
        "policy/venv/bin/python does not exist (PulumiPolicy.yaml names virtualenv 'venv'; "
        "the CLI does not create it)",
    ),
    "3 the program's venv has no pip": Defect(
        PREVIEW_DEV,
        _no_pip_in_the_lock,
        "failed to discover package requirements: calling `",
    ),
    "4 repository secrets never reach the reusable workflow": Defect(
        UP_DEV, _no_secrets_passed, "`secrets.AZURE_CLIENT_ID` is empty there; it never reaches the job"
    ),
    "5 the stack file names no secrets provider": Defect(
        UP_DEV, _no_secrets_provider, "Pulumi.dev.yaml names no Key Vault secrets provider"
    ),
    "6 an empty passphrase reaches pulumi": Defect(
        UP_DEV, _empty_passphrase, "PULUMI_CONFIG_PASSPHRASE is empty: the real CLI takes the empty string"
    ),
    # Issue 29, finding 3: a release manager points release/9.9 at an unreviewed commit.
    "7 a release branch at a commit not on main": Defect(
        UP_UAT, None, "is not on main", off_main=_changes_code
    ),
    "8 ... whose own workflow skips the check": Defect(
        UP_UAT, None, "is not on main", off_main=_skips_the_check
    ),
    # ... or its workflow runs its own copy of the deploy workflow: Azure refuses the token.
    "9 a caller running its own copy of the deploy workflow, without the check": Defect(
        UP_UAT, None, "Azure refuses the token", off_main=_own_copy_without_the_check
    ),
    "10 a pull request previewing uat": Defect(
        Job("pr.yml", "preview", PULL_REQUEST, (("stack", "uat"),)),
        _uat_from_a_pull_request_identity,
        "the state container pulumi-state-uat: no blob data role there",
    ),
}


@pytest.mark.parametrize("defect", DEFECTS.values(), ids=DEFECTS.keys())
def test_each_defect_reintroduced_fails_the_rehearsal(
    tmp_path: Path, repository: Repository, defect: Defect
) -> None:
    with pytest.raises(RehearsalError) as failure:
        rehearse(tmp_path, repository, defect.job, defect.mutate, off_main=defect.off_main)
    assert defect.complaint in failure.value.reason, failure.value.reason


# ---- a stopped update ---------------------------------------------------------------------------


def _update_interrupted_early(clone: Path) -> None:
    """The deploy's `timeout` interrupting after seconds instead of minutes (and killing only much later)."""
    path = clone / ".github" / "workflows" / "pulumi-up.yml"
    text = path.read_text(encoding="utf-8")
    shortened = text.replace("--signal=INT --kill-after=8m 45m", "--signal=INT --kill-after=10m 3s")
    assert shortened != text
    path.write_text(shortened, encoding="utf-8")


def _locks(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "backend" / ".pulumi" / "locks").rglob("*.json"))


def test_an_update_stopped_by_its_timeout_cancels_and_unlocks(
    tmp_path: Path, repository: Repository, plan_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deploy's own SIGINT reaches `pulumi` alone: the engine cancels, the in-flight step ends,
    the lock goes. The next deploy is not refused as "currently locked"."""
    monkeypatch.setenv("REHEARSAL_UP_SECONDS", "120")  # an update still running when the timeout fires
    with pytest.raises(RehearsalError) as stopped:
        rehearse(tmp_path, repository, UP_DEV, _update_interrupted_early, plan_server)
    assert "^C received; cancelling" in stopped.value.reason
    assert "update canceled" in stopped.value.reason
    assert _locks(tmp_path) == []


def test_a_killed_update_leaves_the_lock_and_pulumi_cancel_clears_it(
    tmp_path: Path, repository: Repository, plan_server: str
) -> None:
    """What the runner's own step timeout amounts to (SIGINT to the step's entry process, SIGTERM
    7.5 s later, then the process tree killed): the lock stays and every later deploy is refused,
    until `pulumi cancel` (docs/ci.md, recovery)."""
    rehearse(tmp_path, repository, UP_DEV, plan_server=plan_server)  # a clone that deploys
    clone, standin = tmp_path / "clone", stand_in_dir(tmp_path / "bin") / "pulumi"
    credentials = {name: "set" for name in ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID")}
    env = {
        **os.environ,
        **credentials,
        "REHEARSAL_BACKEND": str(tmp_path / "backend"),
        SERVER_VARIABLE: plan_server,
    }
    env["ARM_SUBSCRIPTION_ID"] = stack_subscription("dev", clone)
    env["GITHUB_REPOSITORY"] = repository.full_name
    up = [str(standin), "up", "--stack", "dev", "--yes"]
    with subprocess.Popen(
        up, cwd=clone, env={**env, "REHEARSAL_UP_SECONDS": "120"}, stdout=subprocess.PIPE, text=True
    ) as update:
        seen = []
        for line in update.stdout or []:
            seen.append(line)
            if "applying the update" in line:
                update.kill()  # the process tree killed: no chance to unlock
                break
    assert len(_locks(tmp_path)) == 1, "".join(seen)
    refused = subprocess.run(up, cwd=clone, env=env, capture_output=True, text=True, check=False)
    assert "the stack is currently locked by 1 lock(s)" in refused.stdout
    subprocess.run(
        [str(standin), "cancel", "--stack", "dev"], cwd=clone, env=env, check=True, capture_output=True
    )
    assert _locks(tmp_path) == []


# make bootstrap's plan and its handoff, as the clone's own code runs them: the bootstrap program
# under the offline engine (bootstrap/plan.py), its outputs in the shape `pulumi stack output --json`
# prints, piped into the handoff, which rewrites the stack files, CODEOWNERS and the workflows' calls.
_BOOTSTRAP_THEN_HANDOFF = """
import json, os, subprocess, sys
from io import StringIO
from pathlib import Path
from bootstrap import handoff
from bootstrap.environment_stacks import stack_creations
from bootstrap.plan import plan_bootstrap
run = plan_bootstrap("example-org")
outputs = json.loads(json.dumps(run.exports, default=str))
if handoff.main([], stdin=StringIO(json.dumps(outputs))) != 0:
    sys.exit(2)
for creation in stack_creations(outputs, Path.cwd()):
    env = {**os.environ, "PULUMI_BACKEND_URL": creation.backend_url}
    subprocess.run(creation.command, env=env, check=True)
"""


def _bootstrapped(clone: Path) -> None:
    """No file edited by hand: the bootstrap's plan, the handoff and the stacks make bootstrap
    creates (the stand-in CLI against the rehearsal's backend) write what the jobs read."""
    bin_dir = stand_in_dir(clone.parent / "bin")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "REHEARSAL_BACKEND": str(clone.parent / "backend")}  # fmt: skip
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", _BOOTSTRAP_THEN_HANDOFF],
        cwd=clone, env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def _run_again(tmp_path: Path, repository: Repository, job: Job, plan_server: str) -> str:
    """``job`` on a fresh runner (its own `az` profile) and a fresh checkout of the same clone."""
    clone = tmp_path / "clone"
    _git(clone, "checkout", "--", ".")
    shutil.rmtree(tmp_path / "azure-profile", ignore_errors=True)
    runner = Runner(clone, repository, tmp_path / "tools", tmp_path / "bin", plan_server)
    runner.run_job(job.workflow, job.job, job.event, dict(job.matrix))
    return "\n".join(runner.transcript)


def test_bootstrap_then_handoff_then_the_first_deploy_of_a_new_dev(
    tmp_path: Path, repository: Repository, plan_server: str
) -> None:
    """Issue 25: in a fresh clone whose stack files name no key and whose backend holds no stack,
    `make bootstrap` (its plan, the handoff, the stacks it creates), then the pull request that
    commits its files (its required preview of dev), then the deploy job's first `pulumi up` of dev
    as the deployer the bootstrap created, then the next deploy; no file edited by hand."""
    transcript = rehearse(
        tmp_path, repository, PREVIEW_DEV, mutate=_bootstrapped, plan_server=plan_server, initialised=False
    )
    _assert_pulumi_ran(transcript, "dev", "preview")
    clone = tmp_path / "clone"
    committed = YAML(typ="safe").load(subprocess.run(
        ["git", "show", "HEAD:Pulumi.dev.yaml"], cwd=clone, capture_output=True, text=True, check=True
    ).stdout)  # fmt: skip
    section = committed["config"]["mlops-platform:bootstrap"]
    deployer = repository.environments["dev"].secrets["AZURE_CLIENT_ID"]
    assert section["deployerClientId"] == fake_guid("client", "deployer-dev-identity") == deployer
    # The handoff named dev's key; make bootstrap created the stack with it in dev's own container.
    assert committed["secretsprovider"].endswith(".vault.azure.net/keys/stack-dev")
    assert committed["encryptedkey"]
    first = _run_again(tmp_path, repository, UP_DEV, plan_server)
    assert "selected stack 'dev'" in first
    # The new workspace admits the deployer that created it: az's management token came along.
    assert f"signs in to the dev workspace as {deployer} (azure-cli, with the management token)" in first
    assert "applying the update" in first
    second = _run_again(tmp_path, repository, UP_DEV, plan_server)
    assert (
        f"signs in to the dev workspace as {deployer} (azure-cli), a principal the workspace knows" in second
    )
    assert "applying the update" in second


def _databricks_login_by_oidc(clone: Path) -> None:
    """The deploy job's Databricks provider as before: github-oidc-azure, the Entra token alone."""
    _bootstrapped(clone)

    def edit(document: Any) -> None:
        (up,) = [step for step in document["jobs"]["up"]["steps"] if step.get("name") == "pulumi up"]
        del up["env"]["DATABRICKS_AUTH_TYPE"]

    _edit_yaml(clone / ".github" / "workflows" / "pulumi-up.yml", edit)


def test_a_first_deploy_whose_databricks_login_sends_no_management_token_is_refused(
    tmp_path: Path, repository: Repository, plan_server: str
) -> None:
    """The same first deploy with github-oidc-azure: the brand-new workspace has never seen the
    deployer, and nothing in the request lets Azure Databricks admit it."""
    with pytest.raises(RehearsalError) as refused:
        rehearse(tmp_path, repository, UP_DEV, _databricks_login_by_oidc, plan_server, initialised=False)
    assert "the dev workspace refuses" in refused.value.reason
    assert "github-oidc-azure sends the Entra token alone" in refused.value.reason
