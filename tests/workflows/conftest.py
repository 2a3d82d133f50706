"""Fixtures: the workflows parsed once per session."""

from __future__ import annotations

from typing import Any

import pytest
from workflow_files import Job, all_jobs, load_workflows


@pytest.fixture(scope="session")
def workflows() -> dict[str, dict[str, Any]]:
    return load_workflows()


@pytest.fixture(scope="session")
def jobs(workflows: dict[str, dict[str, Any]]) -> list[Job]:
    return all_jobs(workflows)
