"""Unity Catalog objects of one environment and who may use them.

Shared by the environment (``UnityCatalog``): storage credential on the workspace's access
connector -> external location on the UC container -> catalog whose managed storage lives there.
Per ML project (``ProjectSchema``): its schema -> its ``artifacts`` volume for its wheel. A
project's developers group is granted on its own schema, volume and model only, and USE CATALOG on
the catalog so it can reach them. Grants
are authoritative per securable (``databricks.Grants``) and come resolved, per role, from the
table in ``infra/access.py``.

Ownership: every securable here is owned by the deployers group (an account group holding the
deployer identity and the people who bootstrap). The principal that creates a UC object becomes
its owner, and CREATE privileges on the metastore give nothing on objects someone else owns
(https://docs.databricks.com/data/manage-ownership.html), so without an explicit ``owner`` the
person who ran the first ``pulumi up`` would own everything and CI could neither upload a wheel
(WRITE VOLUME) nor change a grant. The storage credential and the external location validate
their access when they are created: both wait for the access connector's role on the storage
account to propagate (``storage_access``, a bounded wait after the role: ``infra/workspace.py``),
or a first deploy races it.

Isolation: the credential, the location and the catalog are each ``ISOLATED`` and bound to this
environment's workspace alone (``databricks.WorkspaceBinding``; pulumi-databricks
``workspace_binding.py``, securable types ``catalog``, ``storage_credential``,
``external_location``; ``isolation_mode`` on ``storage_credential.py``/``external_location.py``:
"Setting ... to ISOLATION_MODE_ISOLATED will automatically allow access from the current
workspace"). An OPEN credential or location is usable from every workspace of the metastore, so
another environment's workspace could read this environment's storage through it. Bindings are
the owner's to change, which is why each environment has its own owning group (settings
``databricks.deployersGroup``, one per environment: docs/security.md, trust model).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from core.environment import ENVIRONMENT_PROPERTY, Environment
from infra.access import Privileges, Role, Securable
from infra.base import ComponentArgs, PlatformComponent, StrInput

ARTIFACTS_VOLUME = "artifacts"
# isolation_mode values: catalogs take the short form, credentials and locations the long one.
CATALOG_ISOLATED = "ISOLATED"
SECURABLE_ISOLATED = "ISOLATION_MODE_ISOLATED"
BINDING_READ_WRITE = "BINDING_TYPE_READ_WRITE"


Grantees = pulumi.Input[str] | tuple[pulumi.Input[str], ...]


def grants_for(
    privileges: Mapping[Role, tuple[str, ...]], principals: Mapping[Role, Grantees]
) -> list[databricks.GrantsGrantArgs]:
    """One entry per principal of each role with privileges on one securable
    (``AccessLevels.uc_grants``), in the order given; a role without a principal here (the
    approvers where no approval is required) gets nothing. A role may name several principals (on
    the catalog: every project's developers)."""
    entries = []
    for role, chosen in privileges.items():
        grantees = principals.get(role, ())
        for principal in grantees if isinstance(grantees, tuple) else (grantees,):
            if chosen:
                entries.append(databricks.GrantsGrantArgs(principal=principal, privileges=list(chosen)))
    return entries


class UnityCatalogArgs(ComponentArgs):
    environment: Environment = Field(
        description="Named in comments, and the catalog's ENVIRONMENT_PROPERTY (the wheel reads it)."
    )
    metastore_name: str = Field(
        min_length=1, description="Name of the storage credential and external location (metastore-wide)."
    )
    access_connector_id: StrInput = Field(description="Azure resource id of the access connector.")
    workspace_numeric_id: StrInput = Field(description="The one workspace the securables are bound to.")
    storage_root: StrInput = Field(description="abfss:// URL of the environment's UC container.")
    catalog: str = Field(min_length=1)
    principals: Mapping[Role, StrInput | tuple[StrInput, ...]] = Field(
        description="Grantee per role; the developers: every project's group."
    )
    grants: Mapping[Securable, Mapping[Role, Privileges]] = Field(
        description="Privileges per securable and role (AccessLevels.uc_grants)."
    )
    owner: str = Field(min_length=1, description="Account group owning every securable (the deployers).")
    storage_access: pulumi.Resource = Field(
        description="The wait after the access connector's role on the storage account "
        "(Workspace.storage_access_propagated): the credential and the location come after it."
    )
    protect: bool = Field(description="Protect the stateful objects from deletion.")
    force_destroy: bool = Field(
        description="Destroying the catalog or schema drops the tables in it (a disposable sandbox)."
    )
    provider: databricks.Provider


class UnityCatalog(PlatformComponent):
    AREA = "databricks"

    catalog_name: pulumi.Output[str]

    def __init__(self, name: str, args: UnityCatalogArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        env = args.environment
        # Where false, tables in the catalog or schema block their deletion.
        force_destroy = args.force_destroy
        stateful = pulumi.ResourceOptions(provider=args.provider, protect=args.protect)
        # Creating the credential or the location validates that the connector can reach the data.
        after_storage_role = pulumi.ResourceOptions.merge(
            stateful, pulumi.ResourceOptions(depends_on=[args.storage_access])
        )
        metastore_name = args.metastore_name

        credential = databricks.StorageCredential(
            f"{name}-storage-credential",
            name=metastore_name,
            azure_managed_identity=databricks.StorageCredentialAzureManagedIdentityArgs(
                access_connector_id=args.access_connector_id
            ),
            comment=f"Access connector of the {env.value} workspace",
            isolation_mode=SECURABLE_ISOLATED,
            owner=args.owner,
            opts=self.child_opts(after_storage_role),
        )
        location = databricks.ExternalLocation(
            f"{name}-external-location",
            name=metastore_name,
            url=args.storage_root,
            credential_name=credential.name,
            comment=f"Managed storage of the {env.value} catalog",
            isolation_mode=SECURABLE_ISOLATED,
            owner=args.owner,
            opts=self.child_opts(after_storage_role),
        )
        catalog = databricks.Catalog(
            f"{name}-catalog",
            name=args.catalog,
            storage_root=location.url,
            # Bound to this environment's workspace only (the bindings below): no other sees it.
            isolation_mode=CATALOG_ISOLATED,
            force_destroy=force_destroy,
            comment=f"MLOps platform, {env.value}",
            # The environment as a fact only the owner (the deployers) can change: on Databricks the
            # wheel's tasks read it and trust it over their `env` parameter, which whoever starts a
            # run chooses (mlops_framework.catalog_environment). A property change is an update in place
            # (terraform-provider-databricks catalog/resource_catalog.go: `properties` is not ForceNew;
            # the update sends it with Catalogs.Update).
            properties={ENVIRONMENT_PROPERTY: env.value},
            owner=args.owner,
            opts=self.child_opts(stateful),
        )
        grant_opts = self.child_opts(pulumi.ResourceOptions(provider=args.provider))
        for kind, securable in (
            ("storage_credential", credential),
            ("external_location", location),
            ("catalog", catalog),
        ):
            databricks.WorkspaceBinding(
                f"{name}-{kind.replace('_', '-')}-binding",
                workspace_id=args.workspace_numeric_id,
                securable_type=kind,
                securable_name=securable.name,
                binding_type=BINDING_READ_WRITE,
                opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider, depends_on=[securable])),
            )
        databricks.Grants(
            f"{name}-catalog-grants",
            catalog=catalog.name,
            grants=grants_for(args.grants[Securable.CATALOG], args.principals),
            opts=grant_opts,
        )
        self.catalog_name = catalog.name
        self.register(catalog_name=self.catalog_name)


class ProjectSchemaArgs(ComponentArgs):
    catalog_name: StrInput = Field(description="The environment's catalog (UnityCatalog.catalog_name).")
    catalog: str = Field(min_length=1, description="Its name as configured (the volume's path needs it).")
    schema_name: str = Field(min_length=1)
    principals: Mapping[Role, StrInput] = Field(description="Grantee per role; the project's developers.")
    grants: Mapping[Securable, Mapping[Role, Privileges]] = Field(
        description="Privileges per securable and role (AccessLevels.uc_grants)."
    )
    owner: str = Field(min_length=1, description="Account group owning every securable (the deployers).")
    protect: bool = Field(description="Protect the stateful objects from deletion.")
    force_destroy: bool = Field(description="Destroying the schema drops the tables in it.")
    provider: databricks.Provider
    moved_from: PlatformComponent | None = Field(
        default=None,
        description="The UnityCatalog component these objects were children of before projects "
        "existed: each aliases its former URN (name and parent).",
    )


class ProjectSchema(PlatformComponent):
    """One project's schema and its ``artifacts`` volume, with their grants."""

    AREA = "databricks"

    schema_name: pulumi.Output[str]
    volume_path: str
    volume: databricks.Volume
    schema: databricks.Schema
    schema_grants: databricks.Grants

    def __init__(
        self, name: str, args: ProjectSchemaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        stateful = pulumi.ResourceOptions(provider=args.provider, protect=args.protect)

        def moved(role: str, options: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
            """Options plus, for the project that held the state, an alias of the former URN."""
            if args.moved_from is None:
                return self.child_opts(options)
            alias = pulumi.Alias(name=f"{args.moved_from.name}-{role}", parent=args.moved_from)
            return self.child_opts(
                pulumi.ResourceOptions.merge(options, pulumi.ResourceOptions(aliases=[alias]))
            )

        self.schema = schema = databricks.Schema(
            f"{name}-schema",
            catalog_name=args.catalog_name,
            name=args.schema_name,
            force_destroy=args.force_destroy,
            owner=args.owner,
            opts=moved("schema", stateful),
        )
        self.volume = databricks.Volume(
            f"{name}-artifacts-volume",
            catalog_name=args.catalog_name,
            schema_name=schema.name,
            name=ARTIFACTS_VOLUME,
            volume_type="MANAGED",
            comment="Content-addressed wheels the jobs install",
            owner=args.owner,
            opts=moved("artifacts-volume", stateful),
        )
        plain = pulumi.ResourceOptions(provider=args.provider)
        self.schema_grants = databricks.Grants(
            f"{name}-schema-grants",
            schema=pulumi.Output.concat(args.catalog_name, ".", schema.name),
            grants=grants_for(args.grants[Securable.SCHEMA], args.principals),
            opts=moved("schema-grants", plain),
        )
        databricks.Grants(
            f"{name}-volume-grants",
            volume=pulumi.Output.concat(args.catalog_name, ".", schema.name, ".", self.volume.name),
            grants=grants_for(args.grants[Securable.VOLUME], args.principals),
            opts=moved("volume-grants", plain),
        )
        self.schema_name = schema.name
        self.volume_path = f"/Volumes/{args.catalog}/{args.schema_name}/{ARTIFACTS_VOLUME}"
        self.register(schema_name=self.schema_name, volume_path=self.volume_path)
