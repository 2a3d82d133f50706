"""The one place that picks the backend a step runs on."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..backends.base import Backend
from ..errors import MissingExtraError, ParameterError

BACKEND_ENV_VAR = "MLOPS_BACKEND"  # explicit override: local or databricks
DATABRICKS_MARKER_ENV_VAR = "DATABRICKS_RUNTIME_VERSION"  # set by every Databricks runtime
BACKEND_NAMES = ("local", "databricks")
# What the wheel's `local` extra brings that a local run imports: Delta tables without Spark (and
# the Arrow they come with), and the full MLflow's SQLite store. Databricks installs none of them.
LOCAL_EXTRA_MODULES = frozenset({"deltalake", "pyarrow", "sqlalchemy", "alembic"})


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
        from ..backends.databricks import DatabricksBackend  # noqa: PLC0415

        return DatabricksBackend()
    # The `local` extra, never installed on Databricks: imported only here.
    try:
        import sqlalchemy  # noqa: F401, PLC0415 - MLflow's SQLite store, imported later by MLflow

        from ..backends.local import LocalBackend  # noqa: PLC0415
    except ModuleNotFoundError as error:
        if str(error.name).partition(".")[0] not in LOCAL_EXTRA_MODULES:
            raise
        raise MissingExtraError(
            f"a local run needs the wheel's `local` extra, which is not installed (no module "
            f"{error.name!r}): install the wheel as `pip install '<wheel file>[local]'`"
        ) from error
    return LocalBackend.from_environ(environ)


__all__ = ["Backend", "detect_backend_name", "select_backend"]
