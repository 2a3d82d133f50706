"""Shared fixtures for the whole suite.

``plans`` (session scope): ``dict[Environment, OfflineRun]``, the real program planned once per
session for each of the four stacks with its committed ``Pulumi.<stack>.yaml`` (see
``stacks/plan.py``). Assert on ``run.resources`` (``RecordedResource``: urn, type, name, parent,
protect, dependencies, inputs, options) and ``run.exports``; never mutate it. Its name and shape
are a contract other tests (policy, GitHub, Databricks) rely on.

``trained_plans`` (session scope): the same, planned as after the first training run (a champion
alias, the predictions table), which is when the serving endpoint and the monitor appear.

``secret_stack_root`` / ``secret_plan`` (session scope): a folder holding Pulumi.dev.yaml with
tests/stacks/fixtures/secret-overlay.yaml laid over it (a ``secure:`` value and the extraSecrets
entry that hands it to GitHub), and that stack planned through the real program. No committed stack
file has a ``secure:`` value, so this is what the secret tests can fail on.

``bootstrap_run`` (session scope): the bootstrap project's offline plan of its committed example
stack, ``bootstrap/Pulumi.example-org.yaml`` (``bootstrap/plan.py``).

``job_venvs`` (session scope): the folder of isolated venvs holding the built wheel
(``demo.job_env.wheel_venv``), in pytest's cache so later sessions reuse an unchanged wheel's venv;
the ml and demo tests share it.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import yaml

from bootstrap.plan import plan_bootstrap
from core.environment import Environment
from stacks.defaults import deep_merge
from stacks.loading import read_stack_file
from stacks.offline import OfflineRun
from stacks.plan import ROOT, plan_stack, stack_file, stack_projects, trained

# The champion version the `trained_plans` fixture's workspace reports.
TRAINED_CHAMPION = 3

# Inside GitHub Actions the program picks OIDC auth for Databricks (stacks/wiring.py); the shared
# plans describe what a person's `pulumi preview` registers, wherever the suite runs.
CI_AUTH_VARIABLES = ("GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL", "ARM_CLIENT_ID", "ARM_TENANT_ID")
SECRET_OVERLAY = Path(__file__).parent / "stacks" / "fixtures" / "secret-overlay.yaml"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything collection imported (the provider SDKs alone are ~400k objects) lives until the
    session ends: frozen, the collector stops walking it in every full collection of every test."""
    gc.freeze()


@pytest.fixture(scope="session")
def plans() -> dict[Environment, OfflineRun]:
    with pytest.MonkeyPatch.context() as patch:
        for variable in CI_AUTH_VARIABLES:
            patch.delenv(variable, raising=False)
        return {environment: plan_stack(environment) for environment in Environment}


@pytest.fixture(scope="session")
def trained_plans() -> dict[Environment, OfflineRun]:
    """The same stacks planned as after a training and a batch run: the champion alias is
    ``TRAINED_CHAMPION`` and the predictions table exists, so endpoints and monitors appear."""
    with pytest.MonkeyPatch.context() as patch:
        for variable in CI_AUTH_VARIABLES:
            patch.delenv(variable, raising=False)
        return {
            environment: plan_stack(
                environment, workspace=trained(TRAINED_CHAMPION, stack_projects(environment))
            )
            for environment in Environment
        }


@pytest.fixture(scope="session")
def secret_stack_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secret-stack")
    document = deep_merge(read_stack_file(stack_file(Environment.DEV, ROOT)), read_stack_file(SECRET_OVERLAY))
    stack_file(Environment.DEV, root).write_text(yaml.safe_dump(document), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def secret_plan(secret_stack_root: Path) -> OfflineRun:
    with pytest.MonkeyPatch.context() as patch:
        for variable in CI_AUTH_VARIABLES:
            patch.delenv(variable, raising=False)
        return plan_stack(Environment.DEV, secret_stack_root)


@pytest.fixture(scope="session")
def bootstrap_run() -> OfflineRun:
    return plan_bootstrap("example-org")


@pytest.fixture(scope="session")
def job_venvs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    return cache.mkdir("iris_mlops_wheel_venvs") if cache is not None else tmp_path_factory.mktemp("venvs")
