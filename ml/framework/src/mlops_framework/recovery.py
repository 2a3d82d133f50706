"""What an interrupted task leaves behind, closed or marked by the next one.

- An MLflow run whose process was killed stays RUNNING forever. Every run records the process
  that opened it (host, pid and the pid's start time); on local state the next tracked task in the
  experiment ends each RUNNING run of this host whose process is gone as KILLED, with a tag saying
  why (TaskContext.close_interrupted_runs). Not on Databricks: a host name and pid there can
  belong to another job's live run.
- A kill between "Created version" and train's tags leaves a version without them, never
  evaluated. The next training marks each such version of ours (created by a `train` run that has
  ended) with the project's `incomplete` tag (provenance.RunTags); the aliases never point at one,
  so nothing else changes.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import RunStatus
from mlflow.entities.model_registry import ModelVersion

from .provenance import RunTags


def _start_time(pid: int) -> str:
    """The pid's start time (clock ticks since boot) on Linux, so a reused pid is not taken for
    the original process; empty where /proc is absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]


def process_identity(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def _gone(identity: str) -> bool:
    host, _, rest = identity.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process: nothing here can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return bool(started) and _start_time(int(pid)) != started


def close_interrupted_runs(client: MlflowClient, experiment_id: str, keys: RunTags) -> list[str]:
    """End the experiment's RUNNING runs whose process is gone; return their ids."""
    closed = []
    running = client.search_runs(
        [experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000
    )
    for run in running:
        identity = run.data.tags.get(keys.process, "")
        if identity and _gone(identity):
            client.set_tag(run.info.run_id, keys.interrupted, f"process {identity} ended with the run open")
            client.set_terminated(run.info.run_id, status=RunStatus.to_string(RunStatus.KILLED))
            closed.append(run.info.run_id)
    return closed


def all_versions(client: MlflowClient, model_name: str) -> list[ModelVersion]:
    """Every version of the model, newest first. A Unity Catalog search answers in pages, a page may
    be empty while another follows, in no particular order (databricks-sdk `service/catalog.py`,
    `ModelVersionsAPI.list`), and its results carry no tags: MLflow returns `ModelVersionSearch`,
    whose `tags` raises (mlflow `entities/model_registry/model_version_search.py`), so a version's
    tags are read with `get_model_version`."""
    found: list[ModelVersion] = []
    token = None
    while True:
        page = client.search_model_versions(f"name='{model_name}'", page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return sorted(found, key=lambda version: int(version.version), reverse=True)


def mark_incomplete_versions(
    client: MlflowClient, model_name: str, complete_tag: str, keys: RunTags
) -> list[str]:
    """Tag versions a killed training registered but never finished (no `complete_tag`).

    Newest first, up to the newest complete version: every training marks before it registers,
    so the versions older than a complete one were settled by the training that made it. Each
    version looked at costs one `get_model_version`; usually only the newest is read."""
    marked = []
    for found in all_versions(client, model_name):
        if not found.run_id:
            continue
        tags = client.get_model_version(model_name, str(found.version)).tags
        if complete_tag in tags:
            break
        if keys.incomplete in tags:
            continue
        run = client.get_run(found.run_id)
        if run.data.tags.get(keys.task) != "train" or run.info.status == "RUNNING":
            continue
        reason = f"training run {found.run_id} ended ({run.info.status}) before finishing this version"
        client.set_model_version_tag(model_name, str(found.version), keys.incomplete, reason)
        marked.append(str(found.version))
    return marked
