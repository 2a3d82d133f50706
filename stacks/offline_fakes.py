"""What the offline runner's mocks answer: ids, computed outputs and invoke results that look real.

One entry per resource type or invoke whose outputs later components read; everything else echoes
its inputs. Fake identities are GUID-shaped so validators and string formats hold.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Fake identities that look like the real thing (GUIDs), so validators and string formats hold.
FAKE_SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
FAKE_TENANT_ID = "00000000-0000-4000-8000-000000000002"
FAKE_CLIENT_ID = "00000000-0000-4000-8000-000000000003"
FAKE_OBJECT_ID = "00000000-0000-4000-8000-000000000004"
FAKE_GITHUB_USER_ID = "10000001"
FAKE_GITHUB_TEAM_ID = "20000001"


def fake_guid(kind: str, name: str) -> str:
    """A GUID of its own per resource (an identity's principal and client ids): two identities of
    one plan differ, as in Azure, so a grant names which one it is for."""
    return str(uuid.uuid5(uuid.UUID(FAKE_OBJECT_ID), f"{kind}/{name}"))


def fake_id(type_: str, name: str) -> str:
    """An id shaped like the provider's: Azure resource ids for azure-native, opaque otherwise."""
    package, module, kind = [*type_.split(":"), "", "", ""][:3]
    if package == "azure-native":
        return (
            f"/subscriptions/{FAKE_SUBSCRIPTION_ID}/resourceGroups/rg-{name}"
            f"/providers/Microsoft.{module.capitalize()}/{kind}/{name}"
        )
    return f"{name}-id"


# Outputs a real provider computes and later components read. One entry per type that needs it.
FakeOutputs = Callable[[str, dict[str, Any]], dict[str, Any]]
FAKE_OUTPUTS: dict[str, FakeOutputs] = {
    "azure-native:databricks:Workspace": lambda name, inputs: {
        # crc32, not hash(): str hashes are salted per process and the plan must be reproducible.
        "workspaceUrl": f"adb-1234567890123456.{zlib.crc32(name.encode()) % 100}.azuredatabricks.net",
        "workspaceId": "1234567890123456",
    },
    "azure-native:managedidentity:UserAssignedIdentity": lambda name, inputs: {
        "name": inputs.get("resourceName", name),
        "clientId": fake_guid("client", name),
        "principalId": fake_guid("principal", name),
        "tenantId": FAKE_TENANT_ID,
    },
    "azure-native:databricks:AccessConnector": lambda name, inputs: {
        "identity": {**inputs.get("identity", {}), "principalId": fake_guid("principal", name)},
    },
    "azure-native:keyvault:Vault": lambda name, inputs: {
        "name": inputs.get("vaultName", name),
        "properties": {
            **inputs.get("properties", {}),
            "vaultUri": f"https://{inputs.get('vaultName', name)}.vault.azure.net/",
        },
    },
    # A provider's `name` output is the physical name it was given, which later inputs reference.
    "azure-native:resources:ResourceGroup": lambda name, inputs: {
        "name": inputs.get("resourceGroupName", name),
    },
    "azure-native:storage:StorageAccount": lambda name, inputs: {"name": inputs.get("accountName", name)},
    "azure-native:storage:BlobContainer": lambda name, inputs: {"name": inputs.get("containerName", name)},
    "azure-native:operationalinsights:Workspace": lambda name, inputs: {
        "customerId": "00000000-0000-4000-8000-0000000000aa",
    },
    # A Databricks-managed service principal gets its application id from Databricks.
    # A Databricks-managed service principal gets its application id from Databricks; an
    # Azure-managed one (the deployer) keeps the one it was registered with.
    "databricks:index/servicePrincipal:ServicePrincipal": lambda name, inputs: {
        "applicationId": inputs.get("applicationId") or "00000000-0000-4000-8000-0000000000db",
    },
    "databricks:index/modelServing:ModelServing": lambda name, inputs: {
        "servingEndpointId": f"{inputs.get('name', name)}-endpoint-id",
    },
}

CALL_RESULTS: dict[str, dict[str, Any]] = {
    "azure-native:authorization:getClientConfig": {
        "clientId": FAKE_CLIENT_ID,
        "objectId": FAKE_OBJECT_ID,
        "subscriptionId": FAKE_SUBSCRIPTION_ID,
        "tenantId": FAKE_TENANT_ID,
    },
    # GitHub reviewers named by login or team slug resolve to numeric ids, as the API answers.
    "github:index/getUser:getUser": {"id": FAKE_GITHUB_USER_ID, "login": "offline-user"},
    "github:index/getTeam:getTeam": {"id": FAKE_GITHUB_TEAM_ID, "slug": "offline-team"},
    "databricks:index/getGroup:getGroup": {"id": "offline-admins-group-id", "displayName": "admins"},
}

GET_REGISTERED_MODEL = "databricks:index/getRegisteredModel:getRegisteredModel"
GET_TABLES = "databricks:index/getTables:getTables"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
GRANTS = "databricks:index/grants:Grants"
SCHEMA = "databricks:index/schema:Schema"


class Viewer(StrEnum):
    """Whose credentials the Databricks invokes run with."""

    # A deploy, or a person in the deployers group: the group owns catalog and schemas.
    DEPLOYER = "deployer"
    # A PR preview: the bootstrap's read-only identity, BROWSE on the catalog and nothing else.
    PREVIEW = "preview"


# One registration the engine received so far: its type and inputs (what the invokes' answers
# depend on: who owns what, who was granted what).
Registered = tuple[str, Mapping[str, Any]]


@dataclass(frozen=True)
class WorkspaceState:
    """What already exists, as the Databricks invokes answer it to ``viewer``, and what the stack's
    last ``pulumi up`` recorded in its outputs (``last_outputs``, JSON), as its own StackReference
    reads them back (stacks/last_deploy.py).

    The default is a brand-new environment planned by a deployer: the model has no version and no
    alias yet, no job has written a table, no update has run. ``champion_version`` plans the state
    after a training run, ``tables`` after a batch run.

    The answers follow the access rules of the calls the data sources make, from the grants the
    plan registered before the invoke:
    - ``get_tables`` sends no ``include_browse`` (terraform-provider-databricks
      ``catalog/data_tables.go``); Unity Catalog ListTables returns a table to its owner or to a
      holder of SELECT on it, who is also owner or USE_CATALOG/USE_SCHEMA holder of its parents
      (https://docs.databricks.com/api/uc-tables/v1/list-tables). The job principal owns the table.
    - ``get_registered_model`` with ``include_browse`` (internal/providers/pluginfw/products/
      registered_model/data_registered_model.go): the owner or an EXECUTE holder gets the model with
      its aliases; a BROWSE holder gets it marked ``browse_only``. Whether that answer carries the
      aliases is not documented: the fake leaves them out, the answer a program must survive.
    """

    champion_version: int | None = None
    tables: tuple[str, ...] = ()
    viewer: Viewer = Viewer.DEPLOYER
    last_outputs: str = "{}"

    def invoke_result(
        self, token: str, args: Mapping[str, Any], registered: Sequence[Registered]
    ) -> dict[str, Any] | None:
        """The answer to one of the invokes that read the workspace, or None for any other."""
        if token == GET_REGISTERED_MODEL:
            full_name = str(args.get("fullName"))
            aliases = (
                []
                if self.champion_version is None
                else [{"aliasName": "champion", "versionNum": self.champion_version}]
            )
            if "EXECUTE" not in self._privileges(registered, full_name, "model"):
                return {"fullName": full_name, "modelInfos": [{"browseOnly": True, "aliases": []}]}
            return {"fullName": full_name, "modelInfos": [{"browseOnly": False, "aliases": aliases}]}
        if token == GET_TABLES:
            prefix = f"{args.get('catalogName')}.{args.get('schemaName')}"
            may_select = "SELECT" in self._privileges(registered, prefix, "schema")
            return {"ids": [f"{prefix}.{table}" for table in self.tables] if may_select else []}
        return None

    def stack_outputs(self) -> dict[str, Any]:
        """The outputs of the stack's last update, as a StackReference to the stack reads them."""
        outputs: dict[str, Any] = json.loads(self.last_outputs)
        return outputs

    def _privileges(self, registered: Sequence[Registered], securable: str, kind: str) -> set[str]:
        """What ``viewer`` holds on ``securable`` (a schema or a model) by grants on it or, for a
        model, on its schema (a schema's privileges reach the tables and models in it)."""
        schema = ".".join(securable.split(".")[:2])
        owners = {
            str(inputs.get("owner"))
            for type_, inputs in registered
            if type_ == SCHEMA and f"{inputs.get('catalogName')}.{inputs.get('name')}" == schema
        }
        # The deployers group owns the schemas; the preview identity is whoever holds BROWSE.
        principals = owners if self.viewer is Viewer.DEPLOYER else _browsers(registered)
        on = {(kind, securable), ("schema", schema)}
        return {
            privilege
            for type_, inputs in registered
            if type_ == GRANTS and any(inputs.get(key) == name for key, name in on)
            for grant in inputs.get("grants") or []
            if grant.get("principal") in principals
            for privilege in grant.get("privileges") or []
        }


def _browsers(registered: Sequence[Registered]) -> set[str]:
    return {
        str(grant.get("principal"))
        for type_, inputs in registered
        if type_ == GRANTS and inputs.get("catalog")
        for grant in inputs.get("grants") or []
        if "BROWSE" in (grant.get("privileges") or [])
    }


BRAND_NEW = WorkspaceState()
