"""On Databricks a task's environment is its catalog's, not what its parameters say.

Whoever may start a job chooses its parameters (approvers hold CAN_MANAGE_RUN on the release job):
a legacy run-now's `python_named_params` replace every named parameter of a wheel task, `env`
included, and `env` decides the gate's rules (entrypoints.refuse_weakened_gate, the gate's floor).
So a task there reads its environment from a fact that only the deployers set: the property
`ENVIRONMENT_PROPERTY` of the catalog it runs against, which Pulumi sets on each environment's
catalog (infra/unity_catalog.py). What this relies on (databricks-sdk `service/catalog.py`):

- `CatalogsAPI.get`: "The caller must be a metastore admin, the owner of the catalog, or a user that
  has the USE_CATALOG privilege": the job principal's USE CATALOG suffices (infra/access.py);
- `CatalogsAPI.update` (properties among its fields): "The caller must be either the owner of the
  catalog, or a metastore admin": the owner is the environment's deployers group, of which neither
  the job principal nor an approver is a member;
- another environment's catalog is ISOLATED and bound to its own workspace: "Access from an unbound
  workspace is denied, even for users with explicit privilege grants on the catalog" (Databricks,
  "Workspace-catalog binding"), so a run cannot name it and borrow its property.

A catalog without the property (one Pulumi did not make) tells nothing, and is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ParameterError
from .vocabulary import ENVIRONMENT_PROPERTY, Environment

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from .params import TaskParameters

_ALLOWED = ", ".join(Environment)


def catalog_environment(catalog: str, workspace: WorkspaceClient) -> Environment:
    """The environment `catalog` belongs to, as its deployers recorded it."""
    from databricks.sdk.errors.base import DatabricksError  # noqa: PLC0415 - only Databricks runs import the SDK

    try:
        info = workspace.catalogs.get(catalog)
    except DatabricksError as error:
        raise ParameterError(
            f"catalog {catalog} cannot be read from this workspace by this job ({error.error_code}: "
            f"{error}): the job principal reads its environment's catalog with USE CATALOG"
        ) from error
    value = (info.properties or {}).get(ENVIRONMENT_PROPERTY)
    if value is None:
        raise ParameterError(
            f"catalog {catalog} has no {ENVIRONMENT_PROPERTY} property: `pulumi up` sets it on every "
            "environment's catalog, so this catalog is not one of the platform's (docs/databricks.md, "
            "the release)"
        )
    try:
        return Environment(value)
    except ValueError:
        raise ParameterError(
            f"catalog {catalog}: {ENVIRONMENT_PROPERTY}={value!r} is none of the environments ({_ALLOWED})"
        ) from None


def verified_environment(
    params: TaskParameters, program: str, workspace: WorkspaceClient | None = None
) -> Environment:
    """The catalog's environment, once `--env` names the same one; otherwise the run is refused."""
    if workspace is None:
        from databricks.sdk import WorkspaceClient  # noqa: PLC0415 - seconds of imports

        workspace = WorkspaceClient()
    environment = catalog_environment(params.catalog, workspace)
    if params.env != environment:
        raise ParameterError(
            f"{program}: refused: --env={params.env}, but catalog {params.catalog} belongs to "
            f"{environment} (its {ENVIRONMENT_PROPERTY} property, which only its deployers set): "
            "a run's parameters cannot choose which environment's rules apply"
        )
    return environment
