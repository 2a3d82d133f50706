"""The diabetes project's tests run its jobs locally, in-process, in a home of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from diabetes_support import local_home


@pytest.fixture(scope="session")
def diabetes_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("diabetes_home")


@pytest.fixture(autouse=True)
def local_backend(diabetes_home: Path) -> Iterator[Path]:
    with local_home(diabetes_home) as home:
        yield home
