"""Local real-time serving: the champion, at the path and with the request/response JSON of a
Databricks serving endpoint, following the `champion` alias as a Databricks endpoint follows deploys.

- `/serving-endpoints/<name>/invocations` is checked first (scoring_requests.py: size, time, type,
  JSON, shape; 4xx with a message), then scored by MLflow's own scoring function
  (`mlflow.pyfunc.scoring_server.invocations`: its input formats, schema enforcement and
  `{"predictions": [...]}`), in a worker thread as MLflow's scoring server does. An error answer is
  `{"error_code", "message"}` as Databricks sends it, never a stack trace (that goes to the log).
- Every answer from the model carries `X-Model-Version`, the registry version that answered.
- The served model follows the `champion` alias (champion_follower.py).
- With a recorder (`champion_app` on the local backend), every answered request is recorded for
  the monitoring job: the request path only appends it to a list; a writer process unpacks and
  writes it (served_writer.py).
- Running the app (uvicorn, a thread, a child `serve`) is serving_launch.py.
- `/ping`, `/health` and `/version` answer as MLflow's server does; any other path gets a
  Databricks-style 404 JSON.
- Callers: on loopback anyone on this machine may score, and every request is recorded for the
  monitoring job (so it can start a retrain). Bound anywhere else the server needs a token
  (`MLOPS_SERVE_TOKEN`; `cli.py` refuses to start without one) and answers the invocations
  path only for `Authorization: Bearer <token>` (401 otherwise, compared in constant time); at
  most `MAX_CONCURRENT_REQUESTS` connections at once, then 503 (uvicorn `limit_concurrency`,
  serving_launch.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import hmac
import ipaddress
import logging
from collections.abc import Mapping

from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PyFuncModel, scoring_server
from mlflow.version import VERSION as MLFLOW_VERSION
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from .backends import select_backend
from .champion_follower import POLL_SECONDS, ChampionFollower, Served
from .context import RegisteredVersion, TaskContext, logged_model_id
from .errors import MissingStateError, ParameterError
from .logs import LOGGER_NAME
from .params import TaskParameters
from .project import ProjectSpec
from .scoring_requests import (
    BODY_TIMEOUT_SECONDS,
    PAYLOAD_LIMIT_BYTES,
    RequestError,
    check_content_type,
    check_scoring_input,
    parse_json,
    read_body,
)
from .served_log import SERVED_KEYS
from .served_writer import ServedRequestRecorder, ServedTableWrite
from .serving_launch import (  # re-exported: where callers have always found them
    free_port,
    serve_forever,
    serve_in_subprocess,
    serve_in_thread,
    server_config,
)
from .vocabulary import CHAMPION

__all__ = [
    "POLL_SECONDS",
    "ChampionFollower",
    "Served",
    "ServingEndpointApp",
    "build_app",
    "champion_app",
    "free_port",
    "invocations_path",
    "serve_forever",
    "serve_in_subprocess",
    "serve_in_thread",
    "server_config",
]

HEALTH_PATHS = frozenset({"/ping", "/health"})
VERSION_HEADER = "x-model-version"
TOKEN_VARIABLE = "MLOPS_SERVE_TOKEN"  # noqa: S105 - the name of the variable holding it  # pragma: allowlist secret
MAX_MESSAGE_CHARS = 1000
_logger = logging.getLogger(LOGGER_NAME)
# MLflow's scoring server logs its advice about the `instances` key on every request that fails
# schema enforcement, whichever key it used (mlflow/pyfunc/scoring_server/__init__.py, invocations):
# kept for the requests that did use `instances`, dropped for the others.
_USES_INSTANCES: contextvars.ContextVar[bool] = contextvars.ContextVar("uses_instances", default=True)


def _instances_advice_when_relevant(record: logging.LogRecord) -> bool:
    return _USES_INSTANCES.get() or not record.getMessage().startswith("If using `instances` as input key")


logging.getLogger(scoring_server.__name__).addFilter(_instances_advice_when_relevant)


def invocations_path(endpoint_name: str) -> str:
    return f"/serving-endpoints/{endpoint_name}/invocations"


def _error(error: RequestError) -> Response:
    return JSONResponse(error.body(), status_code=error.status)


def _mlflow_error(error: MlflowException) -> RequestError:
    """MLflow's message without its stack trace, plus the first line of the cause when it wrapped one."""
    message = error.message
    cause = error.__cause__ or error.__context__
    if cause is not None and not isinstance(cause, MlflowException):
        message += f" ({type(cause).__name__}: {str(cause).strip().splitlines()[0] if str(cause) else ''})"
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS] + "... (shortened)"
    status: int = error.get_http_status_code()  # type: ignore[no-untyped-call]
    return RequestError(status, str(error.error_code), message)


class ServingEndpointApp:
    """ASGI app: the Databricks invocations path for the follower's current model, health routes."""

    def __init__(
        self,
        follower: ChampionFollower,
        endpoint_name: str,
        payload_limit: int = PAYLOAD_LIMIT_BYTES,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
        recorder: ServedRequestRecorder | None = None,
        *,
        token: str | None = None,
    ) -> None:
        self.follower = follower
        self.token = token
        self.recorder = recorder
        self.endpoint_name = endpoint_name
        self.path = invocations_path(endpoint_name)
        self.payload_limit = payload_limit
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        response: Response
        if path == self.path and not self._authorized(scope):
            body = {"error_code": "UNAUTHENTICATED", "message": "send Authorization: Bearer <token>"}
            response = JSONResponse(body, status_code=401)
        elif path == self.path:
            response = await self._invocations(scope, receive)
        elif path in HEALTH_PATHS:
            response = Response("\n", media_type="application/json")
        elif path == "/version":
            response = Response(MLFLOW_VERSION, media_type="application/json")
        else:
            message = f"{path[:200]} not found; this server serves {self.path}"
            body = {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": message}
            response = JSONResponse(body, status_code=404)
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        if self.token is None:
            return True
        sent = dict(scope["headers"]).get(b"authorization", b"")
        return hmac.compare_digest(sent, f"Bearer {self.token}".encode())

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "lifespan.startup":
                self.follower.start()
                if self.recorder is not None:
                    self.recorder.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.follower.stop()
                if self.recorder is not None:
                    self.recorder.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _invocations(self, scope: Scope, receive: Receive) -> Response:
        served = self.follower.served  # this request's model, whatever a swap does meanwhile
        headers = {VERSION_HEADER: served.version}
        if scope["method"] != "POST":
            return JSONResponse(
                {"error_code": "METHOD_NOT_ALLOWED", "message": f"use POST on {self.path}"},
                status_code=405,
                headers={"allow": "POST"},
            )
        raw_headers = {
            key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]
        }
        try:
            check_content_type(raw_headers)
            body = await read_body(raw_headers, receive, self.payload_limit, self.body_timeout)
            payload = parse_json(body)
            check_scoring_input(payload)
            _USES_INSTANCES.set(isinstance(payload, dict) and scoring_server.INSTANCES in payload)
            result = await asyncio.to_thread(
                scoring_server.invocations, payload, "application/json", served.model, served.input_schema
            )
        except ConnectionAbortedError:
            return Response(status_code=499)  # the client left; nobody reads this
        except RequestError as error:
            return JSONResponse(error.body(), status_code=error.status, headers=headers)
        except MlflowException as error:
            refused = _mlflow_error(error)
            return JSONResponse(refused.body(), status_code=refused.status, headers=headers)
        except Exception:  # a client gets a message, the log gets the traceback
            _logger.exception("scoring failed on %s v%s", self.endpoint_name, served.version)
            internal = {
                "error_code": "INTERNAL_ERROR",
                "message": "the model failed on this request; see the server log",
            }
            return JSONResponse(internal, status_code=500, headers=headers)
        if self.recorder is not None and result.status == 200:
            self.recorder.record(body, result.response, served.version, served.input_schema)
        return Response(
            result.response, status_code=result.status, media_type=result.mimetype, headers=headers
        )


def build_app(model: PyFuncModel, endpoint_name: str, version: str = "unknown") -> ServingEndpointApp:
    """An app serving one fixed model (benchmarks, tests)."""
    return ServingEndpointApp(ChampionFollower(Served(version, model)), endpoint_name)


def champion_app(
    params: TaskParameters,
    poll_seconds: float = POLL_SECONDS,
    *,
    project: ProjectSpec,
    record: bool = True,
    token: str | None = None,
) -> ServingEndpointApp:
    """The app for the project's champion (`catalog.schema.model_name`) on the selected backend,
    following the alias every `poll_seconds` once served (0: never), recording what it answered
    on the local backend unless `record` is False."""
    context = TaskContext.create("serve", params, select_backend(), project)
    champion = context.alias_version(CHAMPION)
    if champion is None:
        raise MissingStateError(
            f"{context.model_name} has no {CHAMPION!r} alias yet: run the training job first"
        )

    def lookup() -> str | None:
        found = context.alias_version(CHAMPION)
        return None if found is None else found.version

    def load(version: str) -> PyFuncModel:
        found = context.client.get_model_version(context.model_name, version)
        return context.load_model(RegisteredVersion(str(found.version), logged_model_id(found)), CHAMPION)

    served = Served(champion.version, context.load_model(champion, CHAMPION))
    follower = ChampionFollower(served, lookup, load, poll_seconds)
    # A Databricks endpoint records its requests in its own inference table (infra/model_serving.py).
    recorder = None
    if record and context.backend.name == "local":
        table = context.table(project.tables.served)
        write = ServedTableWrite(context.backend, table, SERVED_KEYS, dict(context.provenance))
        recorder = ServedRequestRecorder(write, project)
    return ServingEndpointApp(follower, params.resolved_endpoint_name, recorder=recorder, token=token)


def serving_token(host: str, environ: Mapping[str, str]) -> str | None:
    """The token callers must send: required beyond loopback, where anyone reaching the port could
    otherwise score, and fill the tables that decide retraining."""
    token = environ.get(TOKEN_VARIABLE) or None
    loopback = host == "localhost" or _is_loopback(host)
    if token is None and not loopback:
        raise ParameterError(
            f"serving on {host} (beyond this machine) needs a token: set {TOKEN_VARIABLE}, and callers "
            "send Authorization: Bearer <it>; or serve on 127.0.0.1"
        )
    return token


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
