"""Fixtures: the workflows parsed once per session; the rehearsal's plan server (plan_server.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from plan_server import started
from workflow_files import Job, all_jobs, load_workflows


@pytest.fixture(scope="session")
def workflows() -> dict[str, dict[str, Any]]:
    return load_workflows()


@pytest.fixture(scope="session")
def jobs(workflows: dict[str, dict[str, Any]]) -> list[Job]:
    return all_jobs(workflows)


@pytest.fixture(scope="session")
def plan_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The provider SDKs imported once for every program run the stand-in starts warm."""
    with started(tmp_path_factory.mktemp("plan-server")) as address:
        yield address
