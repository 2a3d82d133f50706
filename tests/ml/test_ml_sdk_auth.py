"""The databricks-sdk takes fresh credentials on every request, so a long wait inside a job (deploy
waits up to SERVING_WAIT for the endpoint) outlives no token: inside a Databricks runtime its
credentials are the runtime's own header factory (credentials_provider.py, runtime-native auth),
which the client calls per request (_base_client.py, `_authenticate`, via `Config.authenticate`)."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.credentials_provider import CredentialsProvider, CredentialsStrategy


class RotatingToken(CredentialsStrategy):
    """A runtime whose token changes between requests."""

    def __init__(self) -> None:
        self.issued = itertools.count(1)

    def auth_type(self) -> str:
        return "runtime"

    def __call__(self, cfg: object) -> CredentialsProvider:
        return lambda: {"Authorization": f"Bearer token-{next(self.issued)}"}


@pytest.fixture
def seen() -> Iterator[tuple[str, list[str]]]:
    """A loopback workspace answering any GET with an empty endpoint; the tokens it was sent."""
    tokens: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            tokens.append(self.headers["Authorization"])
            body = json.dumps({"name": "e", "state": {"config_update": "NOT_UPDATING"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tokens
    finally:
        server.shutdown()
        server.server_close()


def test_every_request_carries_the_token_the_runtime_gives_at_that_moment(
    seen: tuple[str, list[str]],
) -> None:
    url, tokens = seen
    client = WorkspaceClient(host=url, credentials_strategy=RotatingToken())
    for _ in range(3):
        client.serving_endpoints.get("e")
    assert len(set(tokens[-3:])) == 3, tokens
