"""The iris project's tests run its jobs locally, in-process, in a home of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from iris_support import local_home


@pytest.fixture(scope="session")
def iris_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("iris_home")


@pytest.fixture(autouse=True)
def local_backend(iris_home: Path) -> Iterator[Path]:
    with local_home(iris_home) as home:
        yield home
