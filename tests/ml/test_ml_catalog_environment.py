"""On Databricks a task's environment is its catalog's property: read by the job principal with the
databricks-sdk over the fake workspace, and changeable by the catalog's owner only."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied
from fake_uc_catalogs import Catalog
from mlops_framework.catalog_environment import verified_environment
from mlops_framework.errors import ParameterError
from mlops_framework.params import TaskParameters
from mlops_framework.vocabulary import ENVIRONMENT_PROPERTY, Environment

if TYPE_CHECKING:
    from databricks_workspace import FakeWorkspace

JOBS, APPROVERS, DEPLOYERS = "catalog-env-jobs", "catalog-env-approvers", "catalog-env-deployers"


def client(workspace: FakeWorkspace, principal: str) -> WorkspaceClient:
    environ = workspace.environ(principal)
    return WorkspaceClient(host=environ["DATABRICKS_HOST"], token=environ["DATABRICKS_TOKEN"])


def catalog(workspace: FakeWorkspace, name: str, properties: dict[str, str], **fields: object) -> str:
    workspace.catalogs.create(Catalog(name, DEPLOYERS, properties, **fields))  # type: ignore[arg-type]
    for principal in (JOBS, APPROVERS):
        workspace.metastore.grant(name, principal, "USE_CATALOG")
    return name


def test_the_catalogs_property_is_the_environment_and_a_different_env_is_refused_naming_both(
    fake_workspace: FakeWorkspace,
) -> None:
    name = catalog(fake_workspace, "catalog_env_prod", {ENVIRONMENT_PROPERTY: "prod"})
    jobs = client(fake_workspace, JOBS)
    prod = TaskParameters(env=Environment.PROD, catalog=name, schema="iris")
    assert verified_environment(prod, "iris-approve", jobs) == Environment.PROD
    with pytest.raises(ParameterError, match=r"--env=dev, but catalog catalog_env_prod belongs to prod"):
        verified_environment(TaskParameters(env=Environment.DEV, catalog=name), "iris-approve", jobs)


@pytest.mark.parametrize(
    ("properties", "fields", "said"),
    [
        ({}, {}, f"has no {ENVIRONMENT_PROPERTY} property"),
        ({ENVIRONMENT_PROPERTY: "staging"}, {}, "'staging' is none of the environments"),
        # Another environment's catalog: bound to its own workspace only.
        ({ENVIRONMENT_PROPERTY: "dev"}, {"workspaces": frozenset({"999"})}, "PERMISSION_DENIED"),
    ],
    ids=["no-property", "unknown-environment", "bound-elsewhere"],
)
def test_a_catalog_that_does_not_say_its_environment_here_is_refused(
    fake_workspace: FakeWorkspace, properties: dict[str, str], fields: dict[str, object], said: str
) -> None:
    name = catalog(
        fake_workspace, f"catalog_env_{len(fake_workspace.catalogs.catalogs)}", properties, **fields
    )
    params = TaskParameters(env=Environment.DEV, catalog=name)
    with pytest.raises(ParameterError, match=said):
        verified_environment(params, "iris-approve", client(fake_workspace, JOBS))


def test_only_the_catalogs_owner_changes_its_environment(fake_workspace: FakeWorkspace) -> None:
    name = catalog(fake_workspace, "catalog_env_uat", {ENVIRONMENT_PROPERTY: "uat"})
    for principal in (JOBS, APPROVERS):
        with pytest.raises(PermissionDenied):
            client(fake_workspace, principal).catalogs.update(name, properties={ENVIRONMENT_PROPERTY: "dev"})
    with pytest.raises(NotFound):
        client(fake_workspace, JOBS).catalogs.get("catalog_env_missing")
    changed = client(fake_workspace, DEPLOYERS).catalogs.update(
        name, properties={ENVIRONMENT_PROPERTY: "dev"}
    )
    assert changed.properties == {ENVIRONMENT_PROPERTY: "dev"}
    assert client(fake_workspace, JOBS).catalogs.get(name).properties == {ENVIRONMENT_PROPERTY: "dev"}
