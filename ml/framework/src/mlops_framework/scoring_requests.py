"""Checks on a scoring request before MLflow sees it: every hostile or malformed request gets a 4xx
with a message saying what is wrong, never a 500, a hang or a stack trace.

- size: the body is capped at Databricks Model Serving's payload limit, 16 MB per request
  ("Model Serving limits and regions", Resource and payload limits:
  https://docs.databricks.com/aws/en/machine-learning/model-serving/model-serving-limits); a larger
  Content-Length is refused before reading (413), a chunked body as soon as it passes the cap;
- time: a body that stops arriving (a Content-Length larger than what is sent) gets a 408 after
  BODY_TIMEOUT_SECONDS of silence instead of MLflow's 504 after 60 s;
- type: only `application/json` (with `charset=utf-8` or none), 415 otherwise, a missing one too;
- JSON: strict (no NaN/Infinity), every number finite as a float64 (1e400 is refused, not inf),
  nesting bounded (a 100,000-deep array is a 400, not a RecursionError);
- shape: an object with one of Databricks' input keys, at least one row, no null feature value.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

PAYLOAD_LIMIT_BYTES = 16 * 1024 * 1024
BODY_TIMEOUT_SECONDS = 10.0
JSON_CONTENT_TYPE = "application/json"
# The request formats of a Databricks endpoint for a custom (pyfunc) model, as MLflow parses them.
INPUT_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
MAX_PATH_SHOWN = 60


class RequestError(Exception):
    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


def bad_request(message: str) -> RequestError:
    return RequestError(400, "BAD_REQUEST", message)


def check_content_type(headers: Mapping[str, str]) -> None:
    raw = headers.get("content-type", "")
    mime, _, parameters = raw.partition(";")
    charset = parameters.strip().lower().removeprefix("charset=").strip('"') if parameters else "utf-8"
    if mime.strip().lower() != JSON_CONTENT_TYPE or charset != "utf-8":
        shown = repr(raw) if raw else "none"
        raise RequestError(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            f"Content-Type {shown} is not supported: send the JSON body with "
            f"'Content-Type: {JSON_CONTENT_TYPE}'",
        )


def _too_large(size: str) -> RequestError:
    return RequestError(
        413,
        "REQUEST_TOO_LARGE",
        f"request body of {size} is over the {PAYLOAD_LIMIT_BYTES // (1024 * 1024)} MB payload limit "
        f"of a Databricks serving endpoint: send fewer rows per request",
    )


async def read_body(
    headers: Mapping[str, str],
    receive: Callable[[], Awaitable[Mapping[str, Any]]],
    limit: int = PAYLOAD_LIMIT_BYTES,
    timeout: float = BODY_TIMEOUT_SECONDS,
) -> bytes:
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(f"{int(declared):,} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            message = await asyncio.wait_for(receive(), timeout)
        except TimeoutError:
            raise RequestError(
                408,
                "REQUEST_TIMEOUT",
                f"the request body stopped arriving for {timeout:g} s (received {size:,} bytes"
                + (f" of the {declared} that Content-Length announced" if declared else "")
                + ")",
            ) from None
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(f"more than {limit:,} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _constant(name: str) -> float:
    raise bad_request(f"{name} is not a JSON number: every feature value must be a finite number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise bad_request(f"number {text[:40]} is out of range for a 64-bit float")
    return value


def _int(text: str) -> int:
    try:
        value = int(text)
        float(value)
    except (ValueError, OverflowError):
        raise bad_request(f"number {text[:40]}... is out of range for a 64-bit float") from None
    return value


def parse_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        raise bad_request(
            f"the request body is empty: send a JSON object with one of {', '.join(INPUT_KEYS)}"
        )
    try:
        parsed = json.loads(body, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise bad_request("the JSON is nested too deeply to be a scoring request") from None
    except UnicodeDecodeError:
        raise bad_request("the request body is not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise bad_request(f"the request body is not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise bad_request(f"the request body must be a JSON object with one of {', '.join(INPUT_KEYS)}")
    return parsed


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every scalar with its path, iteratively (no recursion limit to hit)."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((f"{where}.{key}", inner) for key, inner in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{where}[{index}]", inner) for index, inner in reversed(list(enumerate(item))))
        else:
            yield where, item


def _rows(key: str, value: Any) -> int:
    if key == "dataframe_split":
        if not isinstance(value, dict) or not isinstance(value.get("data"), list):
            raise bad_request("dataframe_split must be an object with 'columns' and a 'data' list of rows")
        return len(value["data"])
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return min((len(column) if isinstance(column, list) else 1 for column in value.values()), default=0)
    raise bad_request(f"{key} must be a list of rows (or, for {key}, an object of columns)")


def check_scoring_input(payload: Mapping[str, Any]) -> None:
    keys = [key for key in INPUT_KEYS if key in payload]
    if len(keys) != 1:
        found = ", ".join(map(repr, payload)) or "none"
        raise bad_request(f"the request needs exactly one of {', '.join(INPUT_KEYS)}; found keys: {found}")
    (key,) = keys
    if _rows(key, payload[key]) == 0:
        raise bad_request(f"{key} holds no rows: send at least one row to score")
    for where, leaf in _leaves(payload[key], key):
        if leaf is None:
            raise bad_request(f"{where[:MAX_PATH_SHOWN]} is null: every feature value must be a number")
