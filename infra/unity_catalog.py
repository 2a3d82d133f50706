"""Unity Catalog objects of one environment and who may use them.

Storage credential on the workspace's access connector -> external location on the UC container
-> catalog whose managed storage lives there -> schema -> ``artifacts`` volume for wheels. Grants
are authoritative per securable (``databricks.Grants``) and come from one table.

Ownership: every securable here is owned by the deployers group (an account group holding the
deployer identity and the people who bootstrap). The principal that creates a UC object becomes
its owner, and CREATE privileges on the metastore give nothing on objects someone else owns
(https://docs.databricks.com/data/manage-ownership.html), so without an explicit ``owner`` the
person who ran the first ``pulumi up`` would own everything and CI could neither upload a wheel
(WRITE VOLUME) nor change a grant. The storage credential and the external location validate
their access when they are created: both wait for the access connector's role on the storage
account (``storage_access``), or a first deploy races it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import NamedTuple

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from core.environment import Environment
from infra.base import ComponentArgs, PlatformComponent, StrInput

ARTIFACTS_VOLUME = "artifacts"


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


class Privileges(NamedTuple):
    dev: tuple[str, ...]  # sandbox and dev
    prod: tuple[str, ...]  # uat and prod


def _same(*privileges: str) -> Privileges:
    return Privileges(privileges, privileges)


_NONE = Privileges((), ())
_JOB_SCHEMA = ("CREATE_FUNCTION", "CREATE_TABLE", "EXECUTE", "MODIFY", "READ_VOLUME", "SELECT", "USE_SCHEMA")
_DEV_SCHEMA = ("CREATE_MODEL", "CREATE_TABLE", "EXECUTE", "MODIFY", "READ_VOLUME", "SELECT", "USE_SCHEMA")

# The least each principal needs (docs/traps.md: authoritative-grants). The job principal owns the
# registered model: setting an alias needs its owner (or a metastore admin), no privilege suffices
# (https://docs.databricks.com/api/uc-registered-models/v1/set-registered-model-alias). The
# deployers own every other securable; owning the schema lets them manage the model's grants
# (https://docs.databricks.com/data/manage-permissions.html) but gives no privilege on it, and a
# serving endpoint's creator needs EXECUTE on the model it serves
# (https://docs.databricks.com/en/security/auth-authz/access-control/serving-endpoint-acl.html):
# so the deployers get EXECUTE on the model explicitly. Developers only read in uat/prod.
UC_GRANTS: dict[Securable, dict[Role, Privileges]] = {
    Securable.CATALOG: {
        Role.JOB_PRINCIPAL: _same("USE_CATALOG"),
        Role.DEVELOPERS: _same("USE_CATALOG"),
        Role.READERS: _same("USE_CATALOG"),
        Role.DEPLOYERS: _NONE,  # owner
        Role.PREVIEW: _same("BROWSE"),
        Role.APPROVERS: _same("USE_CATALOG"),
    },
    Securable.SCHEMA: {
        Role.JOB_PRINCIPAL: _same(*_JOB_SCHEMA),
        Role.DEVELOPERS: Privileges(_DEV_SCHEMA, ("EXECUTE", "READ_VOLUME", "SELECT", "USE_SCHEMA")),
        Role.READERS: _same("SELECT", "USE_SCHEMA"),
        Role.DEPLOYERS: _NONE,  # owner
        Role.PREVIEW: _NONE,  # BROWSE on the catalog
        Role.APPROVERS: _same("USE_SCHEMA"),
    },
    Securable.VOLUME: {
        Role.JOB_PRINCIPAL: _same("READ_VOLUME"),
        Role.DEVELOPERS: _same("READ_VOLUME"),
        Role.READERS: _NONE,
        Role.DEPLOYERS: _NONE,  # owner
        Role.PREVIEW: _NONE,  # BROWSE on the catalog
        Role.APPROVERS: _NONE,
    },
    Securable.MODEL: {
        Role.JOB_PRINCIPAL: _NONE,  # owner
        Role.DEVELOPERS: _same("EXECUTE"),
        Role.READERS: _same("EXECUTE"),
        Role.DEPLOYERS: _same("EXECUTE"),  # creates the serving endpoint, which reads the model
        Role.PREVIEW: _NONE,  # BROWSE on the catalog
        Role.APPROVERS: _same("APPLY_TAG", "EXECUTE"),
    },
}


def grants_for(
    securable: Securable, environment: Environment, principals: Mapping[Role, pulumi.Input[str]]
) -> list[databricks.GrantsGrantArgs]:
    """One entry per role with privileges, privileges sorted, roles in table order; a role without
    a principal here (the approvers where no approval is required) gets nothing."""
    entries = []
    for role, privileges in UC_GRANTS[securable].items():
        chosen = privileges.prod if environment.is_production_like else privileges.dev
        if chosen and role in principals:
            entries.append(databricks.GrantsGrantArgs(principal=principals[role], privileges=sorted(chosen)))
    return entries


class UnityCatalogArgs(ComponentArgs):
    environment: Environment
    name_prefix: str = Field(description="Prefix of metastore-wide names (credential, location).")
    access_connector_id: StrInput = Field(description="Azure resource id of the access connector.")
    storage_root: StrInput = Field(description="abfss:// URL of the environment's UC container.")
    catalog: str = Field(min_length=1)
    schema_name: str = Field(min_length=1)
    principals: Mapping[Role, StrInput] = Field(description="Grantee per role.")
    owner: str = Field(min_length=1, description="Account group owning every securable (the deployers).")
    storage_access: pulumi.Resource = Field(
        description="The access connector's role on the storage account: the credential waits for it."
    )
    protect: bool = Field(description="prod: protect the stateful objects from deletion.")
    provider: databricks.Provider


class UnityCatalog(PlatformComponent):
    AREA = "databricks"

    catalog_name: pulumi.Output[str]
    schema_name: pulumi.Output[str]
    volume_path: str
    volume: databricks.Volume
    schema: databricks.Schema

    def __init__(self, name: str, args: UnityCatalogArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        env = args.environment
        # Sandbox is disposable: dropping it may drop its tables too. Elsewhere data blocks deletion.
        force_destroy = env is Environment.SANDBOX
        stateful = pulumi.ResourceOptions(provider=args.provider, protect=args.protect)
        # Creating the credential or the location validates that the connector can reach the data.
        after_storage_role = pulumi.ResourceOptions.merge(
            stateful, pulumi.ResourceOptions(depends_on=[args.storage_access])
        )
        metastore_name = f"{args.name_prefix}-{env.value}-uc"

        credential = databricks.StorageCredential(
            f"{name}-storage-credential",
            name=metastore_name,
            azure_managed_identity=databricks.StorageCredentialAzureManagedIdentityArgs(
                access_connector_id=args.access_connector_id
            ),
            comment=f"Access connector of the {env.value} workspace",
            owner=args.owner,
            opts=self.child_opts(after_storage_role),
        )
        location = databricks.ExternalLocation(
            f"{name}-external-location",
            name=metastore_name,
            url=args.storage_root,
            credential_name=credential.name,
            comment=f"Managed storage of the {env.value} catalog",
            owner=args.owner,
            opts=self.child_opts(after_storage_role),
        )
        catalog = databricks.Catalog(
            f"{name}-catalog",
            name=args.catalog,
            storage_root=location.url,
            # Bound to the workspace that creates it: other environments' workspaces cannot see it.
            isolation_mode="ISOLATED",
            force_destroy=force_destroy,
            comment=f"MLOps platform, {env.value}",
            owner=args.owner,
            opts=self.child_opts(stateful),
        )
        self.schema = schema = databricks.Schema(
            f"{name}-schema",
            catalog_name=catalog.name,
            name=args.schema_name,
            force_destroy=force_destroy,
            owner=args.owner,
            opts=self.child_opts(stateful),
        )
        self.volume = databricks.Volume(
            f"{name}-artifacts-volume",
            catalog_name=catalog.name,
            schema_name=schema.name,
            name=ARTIFACTS_VOLUME,
            volume_type="MANAGED",
            comment="Content-addressed wheels the jobs install",
            owner=args.owner,
            opts=self.child_opts(stateful),
        )
        grant_opts = self.child_opts(pulumi.ResourceOptions(provider=args.provider))
        databricks.Grants(
            f"{name}-catalog-grants",
            catalog=catalog.name,
            grants=grants_for(Securable.CATALOG, env, args.principals),
            opts=grant_opts,
        )
        databricks.Grants(
            f"{name}-schema-grants",
            schema=pulumi.Output.concat(catalog.name, ".", schema.name),
            grants=grants_for(Securable.SCHEMA, env, args.principals),
            opts=grant_opts,
        )
        databricks.Grants(
            f"{name}-volume-grants",
            volume=pulumi.Output.concat(catalog.name, ".", schema.name, ".", self.volume.name),
            grants=grants_for(Securable.VOLUME, env, args.principals),
            opts=grant_opts,
        )
        self.catalog_name = catalog.name
        self.schema_name = schema.name
        self.volume_path = f"/Volumes/{args.catalog}/{args.schema_name}/{ARTIFACTS_VOLUME}"
        self.register(
            catalog_name=self.catalog_name, schema_name=self.schema_name, volume_path=self.volume_path
        )
