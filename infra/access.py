"""Who may do what on one environment's Databricks objects: the least each principal needs, as data.

The one choice that differs between environments is how far the developers group reaches
(``DeveloperAccess``): settings hold it per environment (``databricks.developerAccess``) and
``stacks/wiring.py`` resolves it here, once, into ``AccessLevels``. The components take the resolved
levels and never ask which environment they are in.

Unity Catalog (``databricks.Grants``, authoritative per securable; docs/traps.md:
authoritative-grants). The job principal owns the registered model: setting an alias needs its
owner (or a metastore admin), no privilege suffices
(https://docs.databricks.com/api/uc-registered-models/v1/set-registered-model-alias). The deployers
own every other securable; owning the schema lets them manage the model's grants
(https://docs.databricks.com/data/manage-permissions.html) but gives no privilege on it, and a
serving endpoint's creator needs EXECUTE on the model it serves
(https://docs.databricks.com/en/security/auth-authz/access-control/serving-endpoint-acl.html): so the
deployers get EXECUTE on the model explicitly.

Workspace ACLs (``databricks.Permissions``): the deploying identity is the creator, hence owner or
manager, and gets no entry. The table docs/databricks.md shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict


class Securable(StrEnum):
    CATALOG = "catalog"
    SCHEMA = "schema"
    VOLUME = "volume"
    MODEL = "model"


class Role(StrEnum):
    """Principals the platform grants to; order here is the order of grants in a plan."""

    JOB_PRINCIPAL = "job_principal"
    DEVELOPERS = "developers"
    READERS = "readers"
    # The account group that owns the securables: the deployer identity and the bootstrappers.
    DEPLOYERS = "deployers"
    # The bootstrap's PR-preview identity: BROWSE on the catalog reads the metadata of everything
    # in it (schema, volume, model) without reading data.
    PREVIEW = "preview"
    # Where a human approves a new champion: they tag the challenger `approval=approved`, which
    # needs APPLY TAG on the model with USE SCHEMA and USE CATALOG on its parents ("Apply tags to
    # Unity Catalog securable objects", requirements), and EXECUTE to read the version they approve.
    # Granted only where approval is required: elsewhere the role has no principal.
    APPROVERS = "approvers"


# Roles whose principal is an account group; the others are service principals (application ids).
GROUP_ROLES: frozenset[Role] = frozenset({Role.DEVELOPERS, Role.READERS, Role.DEPLOYERS, Role.APPROVERS})


class WorkspaceObject(StrEnum):
    JOB = "job"
    EXPERIMENT = "experiment"
    SERVING_ENDPOINT = "serving_endpoint"


class DeveloperAccess(StrEnum):
    """How far the developers group reaches in one environment (``databricks.developerAccess``)."""

    # Build: create tables and models, run jobs, edit experiments, query endpoints, read secrets.
    BUILD = "build"
    # Read: see data, runs, experiments and endpoints; change nothing, read no secret.
    READ = "read"


Privileges = tuple[str, ...]

_JOB_SCHEMA = ("CREATE_FUNCTION", "CREATE_TABLE", "EXECUTE", "MODIFY", "READ_VOLUME", "SELECT", "USE_SCHEMA")

# Every role but the developers: the same in every environment. A role missing here gets nothing.
UC_GRANTS: Mapping[Securable, Mapping[Role, Privileges]] = {
    Securable.CATALOG: {
        Role.JOB_PRINCIPAL: ("USE_CATALOG",),
        Role.READERS: ("USE_CATALOG",),
        # DEPLOYERS: the owner.
        Role.PREVIEW: ("BROWSE",),
        Role.APPROVERS: ("USE_CATALOG",),
    },
    Securable.SCHEMA: {
        Role.JOB_PRINCIPAL: _JOB_SCHEMA,
        Role.READERS: ("SELECT", "USE_SCHEMA"),
        # The owner, and SELECT besides: owning the catalog and schema gives no privilege on the
        # job principal's tables, yet listing a table needs its ownership or SELECT on it
        # (Unity Catalog ListTables, which get_tables calls), and creating a quality monitor as a
        # catalog owner needs USE_SCHEMA and SELECT on the table too (quality-monitors create).
        # Owners may grant themselves this anyway: it widens nothing, it says so.
        Role.DEPLOYERS: ("SELECT", "USE_SCHEMA"),
        # PREVIEW: BROWSE on the catalog.
        Role.APPROVERS: ("USE_SCHEMA",),
    },
    Securable.VOLUME: {
        Role.JOB_PRINCIPAL: ("READ_VOLUME",),
        # DEPLOYERS: the owner. PREVIEW: BROWSE on the catalog.
    },
    Securable.MODEL: {
        # JOB_PRINCIPAL: the owner. PREVIEW: BROWSE on the catalog.
        Role.READERS: ("EXECUTE",),
        Role.DEPLOYERS: ("EXECUTE",),  # creates the serving endpoint, which reads the model
        Role.APPROVERS: ("APPLY_TAG", "EXECUTE"),
    },
}

DEVELOPER_UC_GRANTS: Mapping[DeveloperAccess, Mapping[Securable, Privileges]] = {
    DeveloperAccess.BUILD: {
        Securable.CATALOG: ("USE_CATALOG",),
        Securable.SCHEMA: (
            "CREATE_MODEL",
            "CREATE_TABLE",
            "EXECUTE",
            "MODIFY",
            "READ_VOLUME",
            "SELECT",
            "USE_SCHEMA",
        ),
        Securable.VOLUME: ("READ_VOLUME",),
        Securable.MODEL: ("EXECUTE",),
    },
    DeveloperAccess.READ: {
        Securable.CATALOG: ("USE_CATALOG",),
        Securable.SCHEMA: ("EXECUTE", "READ_VOLUME", "SELECT", "USE_SCHEMA"),
        Securable.VOLUME: ("READ_VOLUME",),
        Securable.MODEL: ("EXECUTE",),
    },
}

# Workspace ACL levels of the job principal and the PR-preview identity, the same everywhere.
# run_as needs no job ACL to run a job; the principal's CAN_MANAGE_RUN lets the monitoring job start
# the training job on drift (mlops_framework.retrain, Jobs API run-now), on that job only (infra/jobs.py,
# job_access_controls). The deploy task (as the
# principal) updates the endpoint config. The preview identity reads what a refresh reads.
WORKSPACE_ACCESS: Mapping[WorkspaceObject, Mapping[Role, str]] = {
    WorkspaceObject.JOB: {Role.JOB_PRINCIPAL: "CAN_MANAGE_RUN", Role.PREVIEW: "CAN_VIEW"},
    WorkspaceObject.EXPERIMENT: {Role.JOB_PRINCIPAL: "CAN_MANAGE", Role.PREVIEW: "CAN_READ"},
    WorkspaceObject.SERVING_ENDPOINT: {Role.JOB_PRINCIPAL: "CAN_MANAGE", Role.PREVIEW: "CAN_VIEW"},
}

# Developers trigger runs and query endpoints only where they build.
DEVELOPER_WORKSPACE_ACCESS: Mapping[DeveloperAccess, Mapping[WorkspaceObject, str]] = {
    DeveloperAccess.BUILD: {
        WorkspaceObject.JOB: "CAN_MANAGE_RUN",
        WorkspaceObject.EXPERIMENT: "CAN_EDIT",
        WorkspaceObject.SERVING_ENDPOINT: "CAN_QUERY",
    },
    DeveloperAccess.READ: {
        WorkspaceObject.JOB: "CAN_VIEW",
        WorkspaceObject.EXPERIMENT: "CAN_READ",
        WorkspaceObject.SERVING_ENDPOINT: "CAN_VIEW",
    },
}

# The jobs' secret scope: the job principal reads it; readers never see secrets.
SECRET_ACLS: Mapping[Role, str] = {Role.JOB_PRINCIPAL: "READ"}
DEVELOPER_SECRET_ACLS: Mapping[DeveloperAccess, str | None] = {
    DeveloperAccess.BUILD: "READ",
    DeveloperAccess.READ: None,
}


class AccessLevels(BaseModel):
    """One environment's resolved grants and ACL levels, per role; a role absent gets nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    uc_grants: Mapping[Securable, Mapping[Role, Privileges]]
    workspace: Mapping[WorkspaceObject, Mapping[Role, str]]
    secrets: Mapping[Role, str]


def access_levels(developers: DeveloperAccess) -> AccessLevels:
    """The grants and ACL levels of an environment whose developers have ``developers`` access.

    Roles in ``Role`` order and privileges sorted, so that a plan lists them alike every time.
    """
    uc: dict[Securable, Mapping[Role, Privileges]] = {}
    for securable in Securable:
        table = {**UC_GRANTS[securable], Role.DEVELOPERS: DEVELOPER_UC_GRANTS[developers][securable]}
        uc[securable] = MappingProxyType(
            {role: tuple(sorted(table[role])) for role in Role if table.get(role)}
        )
    workspace = {
        kind: MappingProxyType(
            {**WORKSPACE_ACCESS[kind], Role.DEVELOPERS: DEVELOPER_WORKSPACE_ACCESS[developers][kind]}
        )
        for kind in WorkspaceObject
    }
    secrets = dict(SECRET_ACLS)
    developer_secret = DEVELOPER_SECRET_ACLS[developers]
    if developer_secret is not None:
        secrets[Role.DEVELOPERS] = developer_secret
    return AccessLevels(uc_grants=uc, workspace=workspace, secrets=MappingProxyType(secrets))
