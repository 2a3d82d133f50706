"""Unity Catalog's catalogs endpoint, served to the databricks-sdk's own `CatalogsAPI`.

What the wheel reads (catalog_environment.py: a catalog's properties) and what nobody but the
owner may change. The rules, from databricks-sdk `service/catalog.py` and the Databricks docs:

- `GET /api/2.1/unity-catalog/catalogs/{name}` (`CatalogsAPI.get`): "The caller must be a metastore
  admin, the owner of the catalog, or a user that has the USE_CATALOG privilege"; the answer is a
  `CatalogInfo` (`CatalogInfo.from_dict`: `properties`, `owner`, `isolation_mode` ISOLATED|OPEN...);
- `PATCH` on the same path (`CatalogsAPI.update`, `UpdateCatalog` with `properties`): "The caller
  must be either the owner of the catalog, or a metastore admin";
- an ISOLATED catalog is reachable only from the workspaces bound to it: "Access from an unbound
  workspace is denied, even for users with explicit privilege grants on the catalog" ("Workspace-
  catalog binding"). Which error code it answers is not documented: PERMISSION_DENIED here;
- a missing catalog is 404 `CATALOG_DOES_NOT_EXIST`, which the SDK maps by its status to `NotFound`
  (`errors/mapper.py`: a code not in `ERROR_CODE_MAPPING` falls back to the status).

There is no metastore admin in the fake: the platform's identities are none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fake_uc_registry import Metastore
from fake_workspace_server import WORKSPACE_ID, ApiError, FakeWorkspaceServer, Request, Response

_PATH = r"/api/2\.1/unity-catalog/catalogs/(?P<name>[^/]+)"


@dataclass
class Catalog:
    name: str
    owner: str
    properties: dict[str, str] = field(default_factory=dict)
    isolation_mode: str = "ISOLATED"
    workspaces: frozenset[str] = frozenset({WORKSPACE_ID})  # bound ones; an OPEN catalog: all

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "full_name": self.name,
            "owner": self.owner,
            "properties": dict(self.properties),
            "isolation_mode": self.isolation_mode,
            "catalog_type": "MANAGED_CATALOG",
            "securable_type": "CATALOG",
        }


class CatalogsService:
    """The catalogs of the metastore (grants live in `Metastore`) as one workspace sees them."""

    def __init__(self, metastore: Metastore, workspace_id: str = WORKSPACE_ID) -> None:
        self.metastore = metastore
        self.workspace_id = workspace_id
        self.catalogs: dict[str, Catalog] = {}

    def install(self, server: FakeWorkspaceServer) -> None:
        server.route("GET", _PATH, self.get)
        server.route("PATCH", _PATH, self.update)

    def create(self, catalog: Catalog) -> Catalog:
        """As its owner creates it (Pulumi, for the platform's): the same one again is no change."""
        existing = self.catalogs.setdefault(catalog.name, catalog)
        if existing != catalog:
            raise ApiError("CATALOG_ALREADY_EXISTS", f"Catalog '{catalog.name}' already exists")
        return existing

    def _visible(self, name: str, principal: str) -> Catalog:
        catalog = self.catalogs.get(name)
        if catalog is None:
            raise ApiError("CATALOG_DOES_NOT_EXIST", f"Catalog '{name}' does not exist.")
        if catalog.isolation_mode == "ISOLATED" and self.workspace_id not in catalog.workspaces:
            raise ApiError("PERMISSION_DENIED", f"Catalog '{name}' is not accessible in current workspace")
        return catalog

    def get(self, request: Request, match: re.Match[str]) -> Response:
        catalog = self._visible(match["name"], request.principal)
        if catalog.owner != request.principal and not self.metastore.has(
            request.principal, catalog.name, "USE_CATALOG"
        ):
            raise ApiError("PERMISSION_DENIED", f"{request.principal} lacks USE CATALOG on {catalog.name}")
        return Response.of_json(catalog.info())

    def update(self, request: Request, match: re.Match[str]) -> Response:
        catalog = self._visible(match["name"], request.principal)
        if catalog.owner != request.principal:
            raise ApiError(
                "PERMISSION_DENIED", f"{request.principal} is not the owner of catalog {catalog.name}"
            )
        body = request.json()
        if "properties" in body:
            catalog.properties = {str(k): str(v) for k, v in body["properties"].items()}
        if "owner" in body:
            catalog.owner = str(body["owner"])
        return Response.of_json(catalog.info())
