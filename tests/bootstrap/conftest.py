"""The bootstrap project's offline plan, once per session, from ``bootstrap/Pulumi.example-org.yaml``."""

from __future__ import annotations

import pytest

from bootstrap.plan import plan_bootstrap
from stacks.offline import OfflineRun

EXAMPLE_STACK = "example-org"


@pytest.fixture(scope="session")
def bootstrap_run() -> OfflineRun:
    return plan_bootstrap(EXAMPLE_STACK)
