"""The one harness of every test that plans the platform: the real program (stacks/program.py),
through the real wiring (stacks/wiring.py), planned offline (stacks/offline.py) with a committed
``Pulumi.<stack>.yaml`` as its config.

A test that needs a shape no committed stack has says so as settings overrides: stack-config keys
and values, spelled as in the stack file without the ``mlops-platform:`` namespace
(``{"databricks": {"computeMode": "job_cluster"}}``), deep-merged over the stack file's values
(stacks/defaults.py, ``deep_merge``: sections merge, lists and scalars replace). Never a second
program: what the program cannot be configured to do, a test of it cannot ask for.

``StackPlans`` plans each distinct request once per session: the tests share the plans (read them,
never mutate them), so a further test of an existing shape costs no program run.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from wheel_files import write_wheel

import stacks.program
from core.environment import Environment
from core.pulumi_project import PROJECT
from infra.databricks_args import DatabricksWorkloadsArgs
from infra.wheel import WheelContents, read_wheel
from stacks import wiring
from stacks.defaults import deep_merge
from stacks.last_deploy import ENDPOINT_VERSION, PROJECTS_OUTPUT
from stacks.offline import (
    FAKE_SUBSCRIPTION_ID,
    OfflineRun,
    WorkspaceState,
    run_offline,
    stack_config_from_file,
)
from stacks.offline_fakes import Viewer
from stacks.plan import ROOT, configured_subscription, stack_file, stack_settings, trained
from stacks.settings import StackSettings
from stacks.stack_file import read_stack_file

# The champion version a trained workspace reports (``trained_plans``).
TRAINED_CHAMPION = 3

# Inside GitHub Actions the program picks OIDC auth for Databricks (stacks/wiring.py); a plan
# describes what a person's `pulumi preview` registers, wherever the suite runs, unless a test
# passes the job's variables itself (``environ``).
CI_AUTH_VARIABLES = ("GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "ARM_CLIENT_ID", "ARM_TENANT_ID")
# A GitHub Actions job with the id-token permission, as the deploy workflows run the program.
CI_ENVIRON = {"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.invalid"}

# What a person adds to keep a secret in the environment's vault: the keyVault.secrets entry and the
# secret config key it names (tests/stacks/fixtures/secret-overlay.yaml has the same, as a stack
# file with its `secure:` value).
SECRET_KEY = "alertWebhookUrl"  # noqa: S105 - a config key's name, not a credential  # pragma: allowlist secret
VAULT_SECRET = {"keyVault": {"secrets": {"ALERT_WEBHOOK_URL": SECRET_KEY}}}

# dev with the switches a test flips away from its stack file, planned once (``switched_plan``), as
# its deploy job in GitHub Actions plans it (SWITCHED_ENVIRON, OIDC): job clusters, unpaused
# schedules, a repeated and unsorted failure list, no drift alert, a vault secret whose decrypted
# value is ROTATED, and Iris's wheel rebuilt (``changed_wheel_dist``).
ROTATED = "rotated-offline-value"
SWITCHED: dict[str, Any] = {
    **VAULT_SECRET,
    "databricks": {
        "computeMode": "job_cluster",
        "failureNotificationEmails": ["ml-oncall@example.com", "ml-dev@example.com", "ml-oncall@example.com"],
    },
    "projectDefaults": {"schedulesEnabled": True},
    "monitoring": {"driftAlert": False},
}
SWITCHED_SECRETS = {SECRET_KEY: ROTATED}
SWITCHED_ENVIRON = CI_ENVIRON

# prod as after a training run whose champion is version 7 and the deploy that then created the
# endpoints on it, but before any batch run (no predictions table yet), planned as the post-merge
# prod preview plans it (promote.yml, environment prod-preview): logged in as the read-only release
# preview identity, which may only browse the model (VARIANT_ENVIRON, Viewer.PREVIEW;
# ``prod_variant_plan``). Its settings are the committed stack file's.
VARIANT_CHAMPION = 7
PREVIEW_CLIENT_ID = "11111111-2222-4333-8444-555555555555"
VARIANT_ENVIRON = {**CI_ENVIRON, "ARM_CLIENT_ID": PREVIEW_CLIENT_ID}
PROD_VARIANT: dict[str, Any] = {}


def namespaced(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Stack-config keys as the stack file spells them: this project's keys under its namespace."""
    return {key if ":" in key else f"{PROJECT}:{key}": value for key, value in overrides.items()}


def stack_document(environment: Environment, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The committed ``Pulumi.<stack>.yaml`` with ``overrides`` laid over its config."""
    document = read_stack_file(stack_file(environment, ROOT))
    config = deep_merge(document.get("config") or {}, namespaced(overrides or {}))
    return {**document, "config": config}


def settings_with(environment: Environment, overrides: Mapping[str, Any] | None = None) -> StackSettings:
    """The validated settings the program loads for that stack file and those overrides."""
    if not overrides:
        return stack_settings(environment)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        document = stack_document(environment, overrides)
        stack_file(environment, root).write_text(yaml.safe_dump(document), encoding="utf-8")
        return stack_settings(environment, root)


@dataclass(frozen=True)
class PlanRequest:
    """One shape of the program's inputs: a stack file, overrides, and the world around the run."""

    environment: Environment
    overrides: Mapping[str, Any]
    secrets: Mapping[str, str]
    workspace: WorkspaceState | None
    dist: Path | None
    environ: Mapping[str, str]
    subscription_id: str | None
    root: Path | None = None
    dry_run: bool = True

    def key(self) -> str:
        return json.dumps(dataclasses.astuple(self), sort_keys=True, default=repr)


@dataclass
class StackPlans:
    """Plans of the real program, one per distinct request, kept for the session."""

    runs: dict[str, OfflineRun] = field(default_factory=dict)
    # The Databricks workloads' args each run's wiring built (stacks/wiring.py, databricks_args).
    _workloads: dict[int, DatabricksWorkloadsArgs] = field(default_factory=dict)

    def __call__(
        self,
        environment: Environment,
        overrides: Mapping[str, Any] | None = None,
        *,
        secrets: Mapping[str, str] | None = None,
        workspace: WorkspaceState | None = None,
        dist: Path | None = None,
        environ: Mapping[str, str] | None = None,
        subscription_id: str | None = None,
        root: Path | None = None,
        dry_run: bool = True,
    ) -> OfflineRun:
        """``environment``'s stack file with ``overrides``, planned as `pulumi preview` would.

        ``secrets``: the decrypted values of secret config keys, as the CLI hands them to the
        program (a ``secure:`` value without one plans as stacks/offline_config.py's placeholder).
        ``workspace``: what the Databricks workspace already holds (default: nothing).
        ``dist``: where the projects' wheels are (default: the repository's dist/, `make wheel`).
        ``environ``: the variables of the process (default: none of GitHub Actions').
        ``subscription_id``: the Azure login (default: the subscription the stack file names).
        ``root``: where the projects' folders are (default: this repository).
        ``dry_run=False``: as `pulumi up` runs the program.
        """
        request = PlanRequest(
            environment,
            overrides or {},
            secrets or {},
            workspace,
            dist,
            environ or {},
            subscription_id,
            root,
            dry_run,
        )
        key = request.key()
        if key not in self.runs:
            self.runs[key] = self._plan(request)
        return self.runs[key]

    def workloads_args(self, run: OfflineRun) -> DatabricksWorkloadsArgs:
        """The args the real wiring gave the run's DatabricksWorkloads."""
        return self._workloads[id(run)]

    def _plan(self, request: PlanRequest) -> OfflineRun:
        built: list[DatabricksWorkloadsArgs] = []

        def recorded(*args: Any, **kwargs: Any) -> DatabricksWorkloadsArgs:
            built.append(wiring.databricks_args(*args, **kwargs))
            return built[-1]

        with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
            path = stack_file(request.environment, Path(folder))
            document = stack_document(request.environment, request.overrides)
            path.write_text(yaml.safe_dump(document), encoding="utf-8")
            config, secret_keys = stack_config_from_file(path, PROJECT)
            for key, value in request.secrets.items():
                config[f"{PROJECT}:{key}"] = value
                secret_keys |= {f"{PROJECT}:{key}"}
            for variable in CI_AUTH_VARIABLES:
                patch.delenv(variable, raising=False)
            for variable, value in request.environ.items():
                patch.setenv(variable, value)
            if request.dist is not None:
                patch.setattr(wiring, "DIST", request.dist)
            if request.root is not None:
                patch.setattr(wiring, "ROOT", request.root)
            patch.setattr(stacks.program, "databricks_args", recorded)
            logged_in = request.subscription_id or configured_subscription(config) or FAKE_SUBSCRIPTION_ID
            run = run_offline(
                stacks.program.program,
                project=PROJECT,
                stack=request.environment.value,
                config=config,
                secret_keys=secret_keys,
                subscription_id=logged_in,
                workspace=request.workspace,
                dry_run=request.dry_run,
            )
        self._workloads[id(run)] = built[0]
        return run


def copied_dist(folder: Path) -> Path:
    """A copy of the wheels `make wheel` built (dist/), to change one without touching the others."""
    dist = folder / "dist"
    shutil.copytree(wiring.DIST, dist)
    return dist


def rewrite_wheel(dist: Path, project: str, edit: Callable[[dict[str, bytes]], None]) -> Path:
    """``edit`` the members of the project's one wheel in ``dist`` (name -> bytes), in place."""
    (wheel,) = (dist / project).glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    edit(members)
    return write_wheel(wheel, members)


def changed_wheel_dist(folder: Path) -> Path:
    """dist/ with Iris's wheel rebuilt after a fix (same version, other bytes), Diabetes's as built."""
    dist = copied_dist(folder)
    rewrite_wheel(dist, "iris", lambda members: members.update({"iris_mlops/_fix.py": b"# a fix\n"}))
    return dist


@functools.cache
def committed_settings(environment: Environment | str) -> StackSettings:
    """The validated settings of the committed ``Pulumi.<stack>.yaml`` (frozen: read once a session)."""
    return stack_settings(Environment(environment))


@functools.cache
def built_wheel(path: Path) -> WheelContents:
    """The wheel `make wheel` built at ``path`` (a project's dist folder or a wheel), read once."""
    return read_wheel(path)


def trained_workspace(environment: Environment, champion: int = TRAINED_CHAMPION) -> WorkspaceState:
    """The workspace after each of the stack's projects trained and scored once."""
    return trained(champion, [project.name for project in committed_settings(environment).projects])


def after_deploy(
    run: OfflineRun, workspace: WorkspaceState, viewer: Viewer = Viewer.DEPLOYER
) -> WorkspaceState:
    """``workspace`` once ``run`` was applied by a `pulumi up`: the stack's outputs are its exports,
    read back by the next run (stacks/last_deploy.py) as ``viewer``."""
    outputs = {PROJECTS_OUTPUT: run.exports[PROJECTS_OUTPUT]}
    return dataclasses.replace(workspace, last_outputs=json.dumps(outputs, sort_keys=True), viewer=viewer)


def variant_workspace() -> WorkspaceState:
    """VARIANT_CHAMPION trained, a deploy created prod's endpoints on it; read by the PR preview."""
    served = {
        p.name: {ENDPOINT_VERSION: str(VARIANT_CHAMPION)}
        for p in committed_settings(Environment.PROD).projects
    }
    return WorkspaceState(
        champion_version=VARIANT_CHAMPION,
        viewer=Viewer.PREVIEW,
        last_outputs=json.dumps({PROJECTS_OUTPUT: served}, sort_keys=True),
    )
