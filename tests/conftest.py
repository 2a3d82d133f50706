"""Shared fixtures for the whole suite.

Every plan of the platform comes from one harness, tests/harness.py: the real program through the
real wiring, with a committed stack file's config and, where a test needs another shape, settings
overrides laid over it. ``plan_with`` (session scope) is that harness; it plans each distinct
request once per session, so every fixture below and every test asking for the same shape share one
run.

``plans`` (session scope): ``dict[Environment, OfflineRun]``, the four stacks with their committed
``Pulumi.<stack>.yaml``. Assert on ``run.resources`` (``RecordedResource``: urn, type, name,
parent, protect, dependencies, inputs, options) and ``run.exports``; never mutate it. Its name and
shape are a contract other tests (policy, GitHub, Databricks) rely on.

``trained_plans`` (session scope): the same, planned as after the first training run (a champion
alias, the predictions tables), which is when the serving endpoints and the monitors appear.

``secret_stack_root`` / ``secret_plan`` (session scope): a folder holding Pulumi.dev.yaml with
tests/stacks/fixtures/secret-overlay.yaml laid over it (a ``secure:`` value and the keyVault.secrets
entry that hands it to GitHub), and that stack planned through the real program. No committed stack
file has a ``secure:`` value, so this is what the secret tests can fail on.

``switched_plan`` (session scope): dev with harness.SWITCHED, the switches tests flip away from the
stack file (job clusters, unpaused schedules, no drift alert, a rotated GitHub secret, a rebuilt
Iris wheel), planned as its deploy job in GitHub Actions plans it (OIDC).
``prod_variant_plan`` (session scope): prod as after a training run without a batch run (a champion,
no predictions table), planned as the post-merge prod preview plans it (the release preview
identity's login).

``registrations``: the URNs the offline engine receives during one test, also of a run that fails.

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
from harness import (
    PROD_VARIANT,
    SWITCHED,
    SWITCHED_ENVIRON,
    SWITCHED_SECRETS,
    VARIANT_ENVIRON,
    StackPlans,
    changed_wheel_dist,
    trained_workspace,
    variant_workspace,
)

from bootstrap.plan import plan_bootstrap
from core.environment import Environment
from stacks import offline
from stacks.defaults import deep_merge
from stacks.offline import OfflineRun
from stacks.plan import ROOT, stack_file
from stacks.stack_file import read_stack_file

SECRET_OVERLAY = Path(__file__).parent / "stacks" / "fixtures" / "secret-overlay.yaml"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything collection imported (the provider SDKs alone are ~400k objects) lives until the
    session ends: frozen, the collector stops walking it in every full collection of every test."""
    gc.freeze()


@pytest.fixture(scope="session")
def plan_with() -> StackPlans:
    return StackPlans()


@pytest.fixture(scope="session")
def plans(plan_with: StackPlans) -> dict[Environment, OfflineRun]:
    return {environment: plan_with(environment) for environment in Environment}


@pytest.fixture(scope="session")
def trained_plans(plan_with: StackPlans) -> dict[Environment, OfflineRun]:
    """The same stacks planned as after a training and a batch run: the champion alias is
    ``harness.TRAINED_CHAMPION`` and the predictions tables exist, so endpoints and monitors appear."""
    return {
        environment: plan_with(environment, workspace=trained_workspace(environment))
        for environment in Environment
    }


@pytest.fixture(scope="session")
def secret_stack_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("secret-stack")
    document = deep_merge(read_stack_file(stack_file(Environment.DEV, ROOT)), read_stack_file(SECRET_OVERLAY))
    stack_file(Environment.DEV, root).write_text(yaml.safe_dump(document), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def secret_plan(plan_with: StackPlans) -> OfflineRun:
    return plan_with(Environment.DEV, read_stack_file(SECRET_OVERLAY)["config"])


@pytest.fixture(scope="session")
def switched_plan(plan_with: StackPlans, tmp_path_factory: pytest.TempPathFactory) -> OfflineRun:
    dist = changed_wheel_dist(tmp_path_factory.mktemp("switched"))
    return plan_with(Environment.DEV, SWITCHED, secrets=SWITCHED_SECRETS, dist=dist, environ=SWITCHED_ENVIRON)


@pytest.fixture(scope="session")
def prod_variant_plan(plan_with: StackPlans) -> OfflineRun:
    return plan_with(Environment.PROD, PROD_VARIANT, workspace=variant_workspace(), environ=VARIANT_ENVIRON)


@pytest.fixture
def registrations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URN of every resource the offline engine receives during the test, error or not."""
    registered: list[str] = []
    record = offline._record
    monkeypatch.setattr(
        offline, "_record", lambda request, urn, *rest: registered.append(urn) or record(request, urn, *rest)
    )
    return registered


@pytest.fixture(scope="session")
def bootstrap_run() -> OfflineRun:
    return plan_bootstrap("example-org")


@pytest.fixture(scope="session")
def job_venvs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    return cache.mkdir("iris_mlops_wheel_venvs") if cache is not None else tmp_path_factory.mktemp("venvs")
