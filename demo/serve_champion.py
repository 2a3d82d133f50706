"""Serve a project's champion from its job venv, score one Databricks-shaped request, stop the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from mlops_framework.errors import IrisMlopsError
from mlops_framework.serving import serve_in_subprocess

from demo.job_env import JobEnvironment
from demo.projects import IRIS_DEMO, DemoProject
from demo.stage_runner import StageError


@dataclass(frozen=True)
class Exchange:
    base_url: str
    path: str
    request: dict[str, Any]
    response: dict[str, Any]


def score_once(
    environment: JobEnvironment, env: str, port: int | None = None, project: DemoProject = IRIS_DEMO
) -> Exchange:
    """`<project>-mlops serve` of the job venv on ``port`` (default: a free one), one request, stop."""
    path = f"/serving-endpoints/{project.name}-{env}/invocations"
    log = environment.home / f"serve-{project.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    python = str(environment.script("python"))
    try:
        with (
            log.open("wb") as output,
            serve_in_subprocess(
                [f"--env={env}"],
                port=port,
                python=python,
                env=environment.environ(),
                output=output,
                cli=project.spec.cli,
            ) as base_url,
            httpx.Client(base_url=base_url, timeout=10.0) as client,
        ):
            # A client written for Databricks sends a bearer token; the local server accepts it.
            request = project.sample_request
            answer = client.post(path, json=request, headers={"Authorization": "Bearer demo-token"})
    except IrisMlopsError as error:
        raise StageError(f"{error} (server log: {log})") from error
    if answer.status_code != httpx.codes.OK:
        raise StageError(f"POST {path} answered {answer.status_code}: {answer.text[:300]}")
    return Exchange(base_url, path, request, answer.json())
