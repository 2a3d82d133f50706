"""A Databricks workspace's REST surface on loopback, for the real clients to talk to.

MLflow's `databricks-uc` registry store, its artifact repositories and the databricks-sdk all send
HTTP requests to `DATABRICKS_HOST` with the bearer token of `DATABRICKS_TOKEN` (mlflow
`utils/databricks_utils.py`, `get_databricks_host_creds`; `utils/rest_utils.py`, `http_request`,
which goes through the SDK's `ApiClient.do`). This server is that host: only the wire is fake, every
client above it is the installed one. Services register routes (fake_uc_registry.py: the Unity
Catalog model registry and the Files API under `/Models`; fake_jobs.py: the Jobs API).

What the real host does and this one copies, with where it is stated:

- each request is made as the principal its token belongs to; an unknown token is
  401 `UNAUTHENTICATED` (Databricks REST API reference, "Authentication");
- errors are JSON `{"error_code": ..., "message": ...}` with the HTTP status of the code, which the
  SDK parses into its error classes (databricks-sdk `errors/parser.py`, `errors/mapping.py`) and
  MLflow back into `RestException` (mlflow `utils/rest_utils.py`, `http_request`);
- every new `WorkspaceClient` first reads `/.well-known/databricks-config` (databricks-sdk
  `config.py`, `_resolve_host_metadata`; `oauth.py`, `HostMetadata`).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

WORKSPACE_ID = "1234567890123456"
# HTTP status per Databricks error code (databricks-sdk errors/mapping.py and platform.py).
STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "CATALOG_DOES_NOT_EXIST": 404,
    "CATALOG_ALREADY_EXISTS": 409,
    "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "RESOURCE_ALREADY_EXISTS": 409,
    "RESOURCE_CONFLICT": 409,
    "INVALID_STATE": 400,
    "NOT_IMPLEMENTED": 501,
}


class ApiError(Exception):
    """An error answer: its Databricks error code decides the HTTP status."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    body: bytes
    principal: str

    def json(self) -> dict[str, Any]:
        parsed = json.loads(self.body or b"{}")
        if not isinstance(parsed, dict):
            raise ApiError("BAD_REQUEST", "the body is not a JSON object")
        return parsed


@dataclass
class Response:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    @classmethod
    def of_json(cls, payload: object) -> Response:
        return cls(body=json.dumps(payload).encode())


Handler = Callable[[Request, re.Match[str]], Response]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class FakeWorkspaceServer:
    """One workspace: routes, the principal behind each token, and one lock over all state (the
    clients send requests from several threads, e.g. MLflow's parallel artifact uploads)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.tokens: dict[str, str] = {}
        self.lock = threading.RLock()
        self.requests: list[tuple[str, str, str]] = []  # (principal, method, path), in order
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-workspace",
            daemon=True,
        )

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> FakeWorkspaceServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def token_of(self, principal: str) -> str:
        token = f"dapi-fake-{principal}"
        self.tokens[token] = principal
        return token

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append(Route(method, re.compile(pattern), handler))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, str, str]]]:
        start = len(self.requests)
        seen: list[tuple[str, str, str]] = []
        try:
            yield seen
        finally:
            seen.extend(self.requests[start:])

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        url = urlsplit(target)
        if url.path == "/.well-known/databricks-config":
            return Response.of_json({"oidc_endpoint": f"{self.host}/oidc", "workspace_id": WORKSPACE_ID})
        try:
            principal = self._principal(headers.get("Authorization", ""))
            request = Request(method, url.path, dict(parse_qsl(url.query)), body, principal)
            with self.lock:
                self.requests.append((principal, method, url.path))
                for route in self.routes:
                    if route.method == method and (match := route.pattern.fullmatch(url.path)):
                        return route.handler(request, match)
            raise ApiError("ENDPOINT_NOT_FOUND", f"{method} {url.path} is not served by the fake workspace")
        except ApiError as error:
            payload = {"error_code": error.error_code, "message": error.message}
            return Response(STATUS[error.error_code], json.dumps(payload).encode())

    def _principal(self, authorization: str) -> str:
        token = authorization.removeprefix("Bearer ")
        if token not in self.tokens:
            raise ApiError("UNAUTHENTICATED", "invalid access token")
        return self.tokens[token]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the clients reuse their connections
            # Headers and body are two writes: with Nagle on, each answer waits for a delayed ACK.
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = server.answer(self.command, self.path, dict(self.headers.items()), body)
                self.send_response(answer.status)
                payload = b"" if self.command == "HEAD" else answer.body
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve  # noqa: N815 - http.server's names

            def log_message(self, *_: object) -> None:
                pass

        return _Handler
