"""What the offline runner's mocks answer: ids, computed outputs and invoke results that look real.

One entry per resource type or invoke whose outputs later components read; everything else echoes
its inputs. Fake identities are GUID-shaped so validators and string formats hold.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# Fake identities that look like the real thing (GUIDs), so validators and string formats hold.
FAKE_SUBSCRIPTION_ID = "00000000-0000-4000-8000-000000000001"
FAKE_TENANT_ID = "00000000-0000-4000-8000-000000000002"
FAKE_CLIENT_ID = "00000000-0000-4000-8000-000000000003"
FAKE_OBJECT_ID = "00000000-0000-4000-8000-000000000004"
FAKE_GITHUB_USER_ID = "10000001"
FAKE_GITHUB_TEAM_ID = "20000001"


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
        "clientId": FAKE_CLIENT_ID,
        "principalId": FAKE_OBJECT_ID,
        "tenantId": FAKE_TENANT_ID,
    },
    "azure-native:databricks:AccessConnector": lambda name, inputs: {
        "identity": {**inputs.get("identity", {}), "principalId": FAKE_OBJECT_ID},
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


@dataclass(frozen=True)
class WorkspaceState:
    """What already exists in the workspace, as the Databricks invokes will answer it.

    The default is a brand-new environment: the model has no version and no alias yet, and no job
    has written a table. ``champion_version`` plans the state after a training run.
    """

    champion_version: int | None = None
    tables: tuple[str, ...] = ()

    def invoke_result(self, token: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
        """The answer to one of the invokes that read the workspace, or None for any other."""
        if token == GET_REGISTERED_MODEL:
            aliases = (
                []
                if self.champion_version is None
                else [{"aliasName": "champion", "versionNum": self.champion_version}]
            )
            return {"fullName": args.get("fullName"), "modelInfos": [{"aliases": aliases}]}
        if token == GET_TABLES:
            prefix = f"{args.get('catalogName')}.{args.get('schemaName')}"
            return {"ids": [f"{prefix}.{table}" for table in self.tables]}
        return None


BRAND_NEW = WorkspaceState()
