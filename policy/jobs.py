"""Databricks jobs and clusters: run as a service principal, tell someone on failure, stop when idle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import PolicyContext
from .props import get_path, mappings, non_empty, number

JOB = "databricks:index/job:Job"
CLUSTER = "databricks:index/cluster:Cluster"
# Where a job can say whom to tell when a run fails.
FAILURE_CHANNELS: tuple[str, ...] = ("emailNotifications.onFailures", "webhookNotifications.onFailures")


def check_job_runs_as_service_principal(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    principal = get_path(props, "runAs.servicePrincipalName")
    if isinstance(principal, str) and principal:
        return []
    if get_path(props, "runAs.userName"):
        return ["runAs.userName runs the job as a person: set runAs.servicePrincipalName"]
    return ["runAs.servicePrincipalName is not set: the job would run as whoever deployed it"]


def check_job_notifies_on_failure(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    if any(non_empty(get_path(props, channel)) for channel in FAILURE_CHANNELS):
        return []
    return [f"no failure notification: set one of {', '.join(FAILURE_CHANNELS)}"]


def advise_job_timeout(resource_type: str, props: Mapping[str, Any], context: PolicyContext) -> list[str]:
    timeout = number(props.get("timeoutSeconds"))
    if timeout is not None and timeout > 0:
        return []
    return ["timeoutSeconds is not set: a hung run keeps its compute (and bill) running"]


def advise_cluster_autotermination(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    minutes = number(props.get("autoterminationMinutes"))
    if minutes is not None and minutes > 0:
        return []
    return ["autoterminationMinutes is not set: an idle all-purpose cluster runs until stopped by hand"]


def check_job_timeout_covers_tasks(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    """A job's timeout bounds one run with every task attempt: it must cover the longest chain."""
    timeout = number(props.get("timeoutSeconds"))
    if not timeout:
        return []
    tasks = {str(t.get("taskKey")): t for t in mappings(props.get("tasks"))}
    memo: dict[str, tuple[float, tuple[str, ...]]] = {}

    def chain(key: str, seen: frozenset[str]) -> tuple[float, tuple[str, ...]]:
        if key not in memo:
            task = tasks[key]
            upstream = [
                str(d.get("taskKey")) for d in mappings(task.get("dependsOns")) if d.get("taskKey") in tasks
            ]
            before = max((chain(u, seen | {key}) for u in upstream if u not in seen), default=(0.0, ()))
            attempts = 1 + (number(task.get("maxRetries")) or 0)
            memo[key] = (before[0] + (number(task.get("timeoutSeconds")) or 0) * attempts, (*before[1], key))
        return memo[key]

    seconds, keys = max((chain(key, frozenset()) for key in sorted(tasks)), default=(0.0, ()))
    if timeout >= seconds:
        return []
    return [
        f"timeoutSeconds {timeout:g} is shorter than the task chain {' -> '.join(keys)} ({seconds:g} s with "
        "retries): the run is cancelled while its tasks are still inside their own timeouts"
    ]
