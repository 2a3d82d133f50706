"""Helpers of the iris project's tests (a unique module name: other suites have a conftest too)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

HOME_ENV_VAR = "MLOPS_HOME"  # the framework's local backend (mlops_framework.backends.local)


@contextmanager
def local_home(home: Path) -> Iterator[Path]:
    """The local backend on `home` while it lasts (other suites in the session keep theirs)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(HOME_ENV_VAR, str(home))
        patch.setenv("MLOPS_BACKEND", "local")
        patch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
        yield home
