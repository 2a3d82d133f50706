"""Fixtures of the bootstrap tests: the example stack's validated settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bootstrap.program import config_values
from bootstrap.settings import BootstrapSettings, build_bootstrap_settings
from core.pulumi_project import BOOTSTRAP_PROJECT
from stacks.offline import stack_config_from_file

EXAMPLE = Path(__file__).resolve().parents[2] / "bootstrap" / "Pulumi.example-org.yaml"


@pytest.fixture(scope="session")
def bootstrap_settings() -> BootstrapSettings:
    """``bootstrap/Pulumi.example-org.yaml`` as the program validates it."""
    config, _ = stack_config_from_file(EXAMPLE, BOOTSTRAP_PROJECT)
    return build_bootstrap_settings("example-org", config_values(config))
