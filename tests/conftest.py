"""Shared fixtures for the whole suite.

``plans`` (session scope): ``dict[Environment, OfflineRun]``, the real program planned once per
session for each of the four stacks with its committed ``Pulumi.<stack>.yaml`` (see
``stacks/plan.py``). Assert on ``run.resources`` (``RecordedResource``: urn, type, name, parent,
protect, dependencies, inputs, options) and ``run.exports``; never mutate it. Its name and shape
are a contract other tests (policy, GitHub, Databricks) rely on.
"""

from __future__ import annotations

import pytest

from stacks.environment import Environment
from stacks.offline import OfflineRun
from stacks.plan import plan_stack

# Inside GitHub Actions the program picks OIDC auth for Databricks (stacks/wiring.py); the shared
# plans describe what a person's `pulumi preview` registers, wherever the suite runs.
CI_AUTH_VARIABLES = ("GITHUB_ACTIONS", "ACTIONS_ID_TOKEN_REQUEST_URL")


@pytest.fixture(scope="session")
def plans() -> dict[Environment, OfflineRun]:
    with pytest.MonkeyPatch.context() as patch:
        for variable in CI_AUTH_VARIABLES:
            patch.delenv(variable, raising=False)
        return {environment: plan_stack(environment) for environment in Environment}
