"""The one place that picks the backend a step runs on."""

from __future__ import annotations

import os
from collections.abc import Mapping

from iris_mlops.backends.base import Backend
from iris_mlops.errors import ParameterError

BACKEND_ENV_VAR = "IRIS_MLOPS_BACKEND"  # explicit override: local or databricks
DATABRICKS_MARKER_ENV_VAR = "DATABRICKS_RUNTIME_VERSION"  # set by every Databricks runtime
BACKEND_NAMES = ("local", "databricks")


def detect_backend_name(environ: Mapping[str, str]) -> str:
    if override := environ.get(BACKEND_ENV_VAR):
        if override not in BACKEND_NAMES:
            raise ParameterError(
                f"{BACKEND_ENV_VAR}={override!r} is not allowed; allowed values: {', '.join(BACKEND_NAMES)}"
            )
        return override
    return "databricks" if environ.get(DATABRICKS_MARKER_ENV_VAR) else "local"


def select_backend(environ: Mapping[str, str] | None = None) -> Backend:
    environ = os.environ if environ is None else environ
    if detect_backend_name(environ) == "databricks":
        # databricks-sdk takes seconds to import: only a Databricks run pays for it.
        from iris_mlops.backends.databricks import DatabricksBackend  # noqa: PLC0415

        return DatabricksBackend()
    # deltalake is the `local` extra, never installed on Databricks: imported only here.
    from iris_mlops.backends.local import LocalBackend  # noqa: PLC0415

    return LocalBackend.from_environ(environ)


__all__ = ["Backend", "detect_backend_name", "select_backend"]
