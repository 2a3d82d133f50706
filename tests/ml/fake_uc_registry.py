"""The Unity Catalog model registry's REST endpoints, served to MLflow's own `databricks-uc` client.

The client is the installed one: `mlflow/store/_unity_catalog/registry/rest_store.py`
(`UcModelRegistryStore`, the legacy `/api/2.0/mlflow/unity-catalog/*` surface that `databricks-uc`
selects unless MLFLOW_ENABLE_UC_NATIVE_MODEL_REGISTRY is set), its protobuf messages
(`mlflow/protos/databricks_uc_registry_messages_pb2.py`) and, for the model files,
`DatabricksSDKModelsArtifactRepository` over the SDK's Files API. Routes, methods and message types
come from MLflow's service definition (`_METHOD_TO_INFO`), so a request the client sends is parsed
with the message it was built from, and an answer is the message the client parses.

The rules each answer follows (databricks-sdk `service/catalog.py`, `RegisteredModelsAPI` and
`ModelVersionsAPI` docstrings, the UC model-registry REST reference):

- every operation needs USE CATALOG and USE SCHEMA on the parents;
- creating a model needs CREATE MODEL (or CREATE FUNCTION) on the schema;
- reading a model, its versions, its aliases or its files needs ownership or EXECUTE;
- setting or deleting a tag needs ownership or APPLY TAG; keys without `. , - = / :`, at most 255
  characters, values up to 1000, at most 50 tags per object ("Apply tags to Unity Catalog securable
  objects", constraints);
- aliases, new versions and other metadata are the owner's alone;
- listing versions answers in pages of at most the requested size and a server value (100), and "a
  page may contain zero results while still providing a next_page_token. Clients must continue
  reading pages until next_page_token is absent" (`ModelVersionsAPI.list`): here pages hold two
  versions, with an empty page between two full ones;
- a search result comes in no particular order, and carries neither tags nor aliases (MLflow turns
  it into `ModelVersionSearch`, whose `tags` raises: `model_registry/model_version_search.py`);
- a new version is PENDING_REGISTRATION until the client uploads its files and finalizes it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from fake_workspace_server import ApiError, FakeWorkspaceServer, Request, Response
from google.protobuf.message import Message
from mlflow.protos import databricks_uc_registry_messages_pb2 as uc
from mlflow.store._unity_catalog.registry.rest_store import _METHOD_TO_INFO
from mlflow.utils.proto_json_utils import message_to_json, parse_dict

TAG_KEY_FORBIDDEN = frozenset(".,-=/:")
TAG_KEY_MAX, TAG_VALUE_MAX, TAGS_PER_OBJECT = 255, 1000, 50
SEARCH_PAGE = 100  # "a server configured value (100, as of 1/3/2024)" (ModelVersionsAPI.list)
_FILTER = re.compile(r"\s*(name|run_id)\s*=\s*(['\"])(?P<value>[^'\"]+)\2\s*")
FILES_ROOT = "/Models/"


@dataclass
class Version:
    number: int
    source: str
    run_id: str
    model_id: str
    created_by: str
    storage_location: str
    status: str = "PENDING_REGISTRATION"
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Model:
    name: str
    owner: str
    versions: dict[int, Version] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Metastore:
    """Owners, grants and registered models of the metastore the workspace is attached to."""

    models: dict[str, Model] = field(default_factory=dict)
    grants: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # /Models/<c>/<s>/<m>/<v>/<path> -> bytes

    def grant(self, securable: str, principal: str, *privileges: str) -> None:
        self.grants.setdefault(securable, {}).setdefault(principal, set()).update(privileges)

    def has(self, principal: str, securable: str, privilege: str) -> bool:
        return privilege in self.grants.get(securable, {}).get(principal, set())

    def model(self, name: str, principal: str, *, needs: str = "EXECUTE") -> Model:
        """The model, once the principal may `needs` it: EXECUTE (read), APPLY_TAG or OWNER."""
        catalog, schema, _ = _three_levels(name)
        if not (self.has(principal, catalog, "USE_CATALOG") and self.has(principal, schema, "USE_SCHEMA")):
            raise ApiError("PERMISSION_DENIED", f"{principal} lacks USE CATALOG/USE SCHEMA on {schema}")
        model = self.models.get(name)
        if model is None:
            raise ApiError("RESOURCE_DOES_NOT_EXIST", f"Routine or Model '{name}' does not exist.")
        if model.owner != principal and (needs == "OWNER" or not self.has(principal, name, needs)):
            raise ApiError(
                "PERMISSION_DENIED", f"{principal} may not {needs} on {name} (owner: {model.owner})"
            )
        return model

    def version(self, model: Model, number: str | int) -> Version:
        if not str(number).isdigit() or int(number) not in model.versions:
            raise ApiError("RESOURCE_DOES_NOT_EXIST", f"Model version {model.name}/{number} does not exist.")
        return model.versions[int(number)]


def _three_levels(name: str) -> tuple[str, str, str]:
    parts = name.split(".")
    if len(parts) != 3 or not all(parts):
        raise ApiError(
            "INVALID_PARAMETER_VALUE", f"{name!r}: specify all three levels (catalog.schema.model)"
        )
    return parts[0], f"{parts[0]}.{parts[1]}", name


def _check_tag(key: str, value: str, existing: dict[str, str]) -> None:
    if set(key) & TAG_KEY_FORBIDDEN or not 0 < len(key) <= TAG_KEY_MAX:
        forbidden = "".join(sorted(TAG_KEY_FORBIDDEN))
        raise ApiError(
            "INVALID_PARAMETER_VALUE", f"tag key {key!r}: 1-{TAG_KEY_MAX} characters, none of {forbidden}"
        )
    if len(value) > TAG_VALUE_MAX or (key not in existing and len(existing) >= TAGS_PER_OBJECT):
        raise ApiError("INVALID_PARAMETER_VALUE", f"tag {key!r}: value or tag count over the limit")


def _version_proto(model: Model, version: Version, *, detail: bool) -> uc.ModelVersion:
    proto = uc.ModelVersion(
        name=model.name,
        version=str(version.number),
        creation_timestamp=version.created_ms,
        last_updated_timestamp=version.created_ms,
        user_id=version.created_by,
        source=version.source,
        run_id=version.run_id,
        status=uc.ModelVersionStatus.Value(version.status),
        storage_location=version.storage_location,
        model_id=version.model_id,
    )
    if detail:  # a search result carries neither tags nor aliases
        proto.tags.extend(uc.ModelVersionTag(key=k, value=v) for k, v in sorted(version.tags.items()))
        aliases = sorted(alias for alias, number in model.aliases.items() if number == version.number)
        proto.aliases.extend(uc.RegisteredModelAlias(alias=a, version=str(version.number)) for a in aliases)
    return proto


class UcRegistryService:
    """The registry's handlers over one metastore; `install` routes them on a workspace server."""

    def __init__(self, metastore: Metastore, page_size: int = 2) -> None:
        self.metastore = metastore
        # Within the contract ("the minimum of this value and a server configured value"), small
        # enough that a client reading only the first page misses versions.
        self.page_size = page_size
        self.fail_next: dict[str, ApiError] = {}  # request message name -> one error to answer with

    def install(self, server: FakeWorkspaceServer) -> None:
        handlers: dict[type[Message], Callable[[Message, str], Message]] = {
            uc.CreateRegisteredModelRequest: self.create_registered_model,
            uc.GetRegisteredModelRequest: self.get_registered_model,
            uc.CreateModelVersionRequest: self.create_model_version,
            uc.FinalizeModelVersionRequest: self.finalize_model_version,
            uc.GetModelVersionRequest: self.get_model_version,
            uc.SearchModelVersionsRequest: self.search_model_versions,
            uc.SetModelVersionTagRequest: self.set_model_version_tag,
            uc.DeleteModelVersionTagRequest: self.delete_model_version_tag,
            uc.SetRegisteredModelAliasRequest: self.set_alias,
            uc.DeleteRegisteredModelAliasRequest: self.delete_alias,
            uc.GetModelVersionByAliasRequest: self.get_by_alias,
            uc.GetModelVersionDownloadUriRequest: self.download_uri,
            uc.IsDatabricksSdkModelsArtifactRepositoryEnabledRequest: self.sdk_artifacts_enabled,
            uc.EmitModelVersionLineageRequest: self.emit_lineage,
        }
        for message, handler in handlers.items():
            path, method = _METHOD_TO_INFO[message]
            server.route(method, re.escape(path), self._proto_handler(message, handler))
        files = r"/api/2\.0/fs/(files|directories)(?P<path>/Models/.+)"
        for method in ("GET", "PUT", "HEAD"):
            server.route(method, files, self.files)

    def _proto_handler(self, message: type[Message], handler: Callable[[Message, str], Message]) -> Any:
        def handle(request: Request, _: re.Match[str]) -> Response:
            if (planned := self.fail_next.pop(message.__name__, None)) is not None:
                raise planned
            parsed = message()
            parse_dict(request.json() if request.method != "GET" else dict(request.query), parsed)
            return Response(body=message_to_json(handler(parsed, request.principal)).encode())

        return handle

    # ------------------------------------------------------------------------ registered models

    def create_registered_model(self, request: Message, principal: str) -> Message:
        catalog, schema, name = _three_levels(request.name)
        store = self.metastore
        if not (store.has(principal, catalog, "USE_CATALOG") and store.has(principal, schema, "USE_SCHEMA")):
            raise ApiError("PERMISSION_DENIED", f"{principal} lacks USE CATALOG/USE SCHEMA on {schema}")
        if not (
            store.has(principal, schema, "CREATE_MODEL") or store.has(principal, schema, "CREATE_FUNCTION")
        ):
            raise ApiError("PERMISSION_DENIED", f"{principal} lacks CREATE MODEL on {schema}")
        if name in store.models:
            raise ApiError("RESOURCE_ALREADY_EXISTS", f"Routine or Model '{name}' already exists.")
        store.models[name] = Model(name, owner=principal)
        return uc.CreateRegisteredModelResponse(registered_model=self._model_proto(store.models[name]))

    def get_registered_model(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal)
        return uc.GetRegisteredModelResponse(registered_model=self._model_proto(model))

    def _model_proto(self, model: Model) -> uc.RegisteredModel:
        proto = uc.RegisteredModel(name=model.name, user_id=model.owner)
        proto.aliases.extend(
            uc.RegisteredModelAlias(alias=a, version=str(v)) for a, v in sorted(model.aliases.items())
        )
        proto.tags.extend(uc.RegisteredModelTag(key=k, value=v) for k, v in sorted(model.tags.items()))
        return proto

    # --------------------------------------------------------------------------- model versions

    def create_model_version(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal, needs="OWNER")
        number = max(model.versions, default=0) + 1
        location = f"abfss://metastore@fakeuc.dfs.core.windows.net/models/{model.name}/versions/{number}"
        version = Version(number, request.source, request.run_id, request.model_id, principal, location)
        for tag in request.tags:
            _check_tag(tag.key, tag.value, version.tags)
            version.tags[tag.key] = tag.value
        model.versions[number] = version
        return uc.CreateModelVersionResponse(model_version=_version_proto(model, version, detail=True))

    def finalize_model_version(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal, needs="OWNER")
        version = self.metastore.version(model, request.version)
        version.status = "READY"
        return uc.FinalizeModelVersionResponse(model_version=_version_proto(model, version, detail=True))

    def get_model_version(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal)
        version = self.metastore.version(model, request.version)
        return uc.GetModelVersionResponse(model_version=_version_proto(model, version, detail=True))

    def search_model_versions(self, request: Message, principal: str) -> Message:
        matched = _FILTER.fullmatch(request.filter or "")
        if matched is None:
            raise ApiError(
                "INVALID_PARAMETER_VALUE",
                f"unsupported filter {request.filter!r}: name='...' or run_id='...'",
            )
        found = [
            (model, version)
            for model in self.metastore.models.values()
            if self._readable(model, principal)
            for version in model.versions.values()
            if (model.name if matched[1] == "name" else version.run_id) == matched["value"]
        ]
        # "There is no guarantee of a specific ordering" (ModelVersionsAPI.list): odd versions first.
        found.sort(key=lambda pair: (pair[0].name, pair[1].number % 2 == 0, pair[1].number))
        page = min(request.max_results or SEARCH_PAGE, self.page_size)
        token = request.page_token or "0"
        start = int(token.rstrip("e"))
        rows = [] if token.endswith("e") else found[start : start + page]
        response = uc.SearchModelVersionsResponse(
            model_versions=[_version_proto(model, version, detail=False) for model, version in rows]
        )
        following = start if token.endswith("e") else start + page
        if following < len(found):  # an empty page between two full ones, as the service may send
            response.next_page_token = str(following) if token.endswith("e") else f"{following}e"
        return response

    def _readable(self, model: Model, principal: str) -> bool:
        try:
            self.metastore.model(model.name, principal)
        except ApiError:
            return False
        return True

    def set_model_version_tag(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal, needs="APPLY_TAG")
        version = self.metastore.version(model, request.version)
        _check_tag(request.key, request.value, version.tags)
        version.tags[request.key] = request.value
        return uc.SetModelVersionTagResponse()

    def delete_model_version_tag(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal, needs="APPLY_TAG")
        self.metastore.version(model, request.version).tags.pop(request.key, None)
        return uc.DeleteModelVersionTagResponse()

    # ---------------------------------------------------------------------------------- aliases

    def set_alias(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal, needs="OWNER")
        model.aliases[request.alias] = self.metastore.version(model, request.version).number
        return uc.SetRegisteredModelAliasResponse()

    def delete_alias(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal, needs="OWNER")
        model.aliases.pop(request.alias, None)
        return uc.DeleteRegisteredModelAliasResponse()

    def get_by_alias(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal)
        if request.alias not in model.aliases:
            raise ApiError(
                "RESOURCE_DOES_NOT_EXIST", f"Alias {request.alias} not found on model {model.name}"
            )
        version = model.versions[model.aliases[request.alias]]
        return uc.GetModelVersionByAliasResponse(model_version=_version_proto(model, version, detail=True))

    # ------------------------------------------------------------------------------------ files

    def download_uri(self, request: Message, principal: str) -> Message:
        model = self.metastore.model(request.name, principal)
        location = self.metastore.version(model, request.version).storage_location
        return uc.GetModelVersionDownloadUriResponse(artifact_uri=location)

    def sdk_artifacts_enabled(self, _request: Message, _principal: str) -> Message:
        return uc.IsDatabricksSdkModelsArtifactRepositoryEnabledResponse(
            is_databricks_sdk_models_artifact_repository_enabled=True
        )

    def emit_lineage(self, request: Message, principal: str) -> Message:
        """What loaded a version (best effort in the client: `emit_model_version_lineage`)."""
        self.metastore.version(self.metastore.model(request.name, principal), request.version)
        return uc.EmitModelVersionLineageResponse()

    def files(self, request: Request, match: re.Match[str]) -> Response:
        """`/Models/<catalog>/<schema>/<model>/<version>/...`: written by the owner, read with EXECUTE."""
        kind, path = match[1], match["path"].rstrip("/")
        parts = path.removeprefix(FILES_ROOT).split("/")
        if len(parts) < 4:
            raise ApiError("NOT_FOUND", f"no model version under {path}")
        needs = "OWNER" if request.method == "PUT" else "EXECUTE"
        model = self.metastore.model(".".join(parts[:3]), request.principal, needs=needs)
        self.metastore.version(model, parts[3])
        stored = self.metastore.files
        if request.method == "PUT":
            stored[path] = request.body
            return Response(status=204, body=b"")
        if kind == "files":
            if path not in stored:
                raise ApiError("NOT_FOUND", f"no file {path}")
            headers = {"Content-Type": "application/octet-stream", "last-modified": formatdate(usegmt=True)}
            return Response(body=stored[path], headers=headers)
        children = {_child(path, key) for key in stored if key.startswith(path + "/")}
        if not children:
            raise ApiError("NOT_FOUND", f"no directory {path}")
        if request.method == "HEAD":
            return Response(body=b"")
        contents = [
            {"path": child, "is_directory": child not in stored, "file_size": len(stored.get(child, b""))}
            for child in sorted(children)
        ]
        return Response.of_json({"contents": contents})

    @contextmanager
    def failing(self, message: type[Message], error: ApiError) -> Iterator[None]:
        self.fail_next[message.__name__] = error
        try:
            yield
        finally:
            self.fail_next.pop(message.__name__, None)


def _child(directory: str, key: str) -> str:
    return f"{directory}/{key.removeprefix(directory + '/').split('/')[0]}"
