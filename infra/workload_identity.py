"""The Databricks service principal that runs the jobs, and who may do what in the workspace.

The principal is Databricks-managed (no Entra app, so no client secret exists anywhere): it is
the jobs' ``run_as``, owns the registered model and manages the serving endpoint, so the deploy
task, running as it, can move the served version.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent
from stacks.environment import Environment


class WorkspaceObject(StrEnum):
    JOB = "job"
    EXPERIMENT = "experiment"
    SERVING_ENDPOINT = "serving_endpoint"


class Access(NamedTuple):
    """Permission levels on one kind of object; ``None`` means no entry at all."""

    job_principal: str | None
    developers_dev: str | None  # sandbox and dev: view and run
    developers_prod: str | None  # uat and prod: view only


# The table docs/databricks.md shows. The deploying identity is the creator, hence owner/manager.
WORKSPACE_ACCESS: dict[WorkspaceObject, Access] = {
    # run_as needs no job ACL for the principal; developers trigger runs only outside uat/prod.
    WorkspaceObject.JOB: Access(None, "CAN_MANAGE_RUN", "CAN_VIEW"),
    WorkspaceObject.EXPERIMENT: Access("CAN_MANAGE", "CAN_EDIT", "CAN_READ"),
    # The deploy task (as the principal) updates the endpoint config; developers may query in dev.
    WorkspaceObject.SERVING_ENDPOINT: Access("CAN_MANAGE", "CAN_QUERY", "CAN_VIEW"),
}


def access_controls(
    kind: WorkspaceObject,
    environment: Environment,
    job_principal: pulumi.Input[str],
    developers_group: str,
) -> list[databricks.PermissionsAccessControlArgs]:
    """The ACL entries of one object, from the table; sorted by principal kind for a stable diff."""
    row = WORKSPACE_ACCESS[kind]
    developers = row.developers_prod if environment.is_production_like else row.developers_dev
    entries: list[databricks.PermissionsAccessControlArgs] = []
    if developers is not None:
        entries.append(
            databricks.PermissionsAccessControlArgs(group_name=developers_group, permission_level=developers)
        )
    if row.job_principal is not None:
        entries.append(
            databricks.PermissionsAccessControlArgs(
                service_principal_name=job_principal, permission_level=row.job_principal
            )
        )
    return entries


class WorkloadIdentityArgs(ComponentArgs):
    environment: Environment = Field(description="The environment the principal works in.")
    display_name: str = Field(min_length=1, description="Display name of the service principal.")
    provider: databricks.Provider = Field(description="The environment's explicit Databricks provider.")


class WorkloadIdentity(PlatformComponent):
    """A Databricks-managed service principal with no cluster-creation entitlement."""

    AREA = "databricks"

    application_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        principal = databricks.ServicePrincipal(
            f"{name}-sp",
            display_name=args.display_name,
            active=True,
            # Jobs get their compute from the job spec; the principal never creates clusters itself.
            allow_cluster_create=False,
            allow_instance_pool_create=False,
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider)),
        )
        self.application_id = principal.application_id
        self.register(application_id=self.application_id)
