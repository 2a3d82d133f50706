"""The approval path: where a job's gate waits for a human, a human must be able to approve.

Approving is tagging the challenger `approval=approved`, which Unity Catalog allows the model's
owner or a principal with APPLY TAG on it and USE SCHEMA and USE CATALOG on its parents (Databricks,
"Apply tags to Unity Catalog securable objects", requirements); then starting the release job (a
job without a schedule that runs the gate), which needs CAN_MANAGE_RUN on it (Databricks, job
ACLs). The job principal owns the model but is no person, so it does not count.
"""

from __future__ import annotations

from collections.abc import Sequence

from .context import PolicyContext
from .props import get_path, mappings
from .stack_rule import StackResource, depends_on, of_type

JOB = "databricks:index/job:Job"
GRANTS = "databricks:index/grants:Grants"
PERMISSIONS = "databricks:index/permissions:Permissions"
GATE_ENTRY_POINT = "iris-approve"
START_LEVELS = frozenset({"CAN_MANAGE_RUN", "CAN_MANAGE"})


def _tasks(job: StackResource) -> list[dict[str, object]]:
    return [dict(task) for task in mappings(job.props.get("tasks"))]


def _waits_for_a_human(job: StackResource) -> bool:
    return any(
        get_path(task, "pythonWheelTask.namedParameters.require_approval") == "true" for task in _tasks(job)
    )


def _runs_the_gate(job: StackResource) -> bool:
    return any(get_path(task, "pythonWheelTask.entryPoint") == GATE_ENTRY_POINT for task in _tasks(job))


def _holding(grants: Sequence[StackResource], securable: str, privilege: str) -> set[str]:
    return {
        str(entry.get("principal"))
        for resource in grants
        if resource.props.get(securable)
        for entry in mappings(resource.props.get("grants"))
        if privilege in (entry.get("privileges") or [])
    }


def _starters(resources: Sequence[StackResource], jobs: Sequence[StackResource]) -> set[str]:
    return {
        str(control.get("groupName") or control.get("userName") or control.get("servicePrincipalName"))
        for permissions in of_type(resources, PERMISSIONS)
        if depends_on(permissions, jobs)
        for control in mappings(permissions.props.get("accessControls"))
        if control.get("permissionLevel") in START_LEVELS
    }


def check_approval_path(resources: Sequence[StackResource], context: PolicyContext) -> list[tuple[str, str]]:
    """Some principal may both tag the model approved and start the release job."""
    jobs = of_type(resources, JOB)
    waiting = [job for job in jobs if _waits_for_a_human(job)]
    if not waiting:
        return []
    releases = [job for job in jobs if _runs_the_gate(job) and not job.props.get("schedule")]
    if not releases:
        reason = "no job without a schedule runs the gate: nothing deploys an approved challenger"
        return [(job.urn, f"waits for a human approval, but {reason}") for job in waiting]
    grants = of_type(resources, GRANTS)
    taggers = (
        _holding(grants, "model", "APPLY_TAG")
        & _holding(grants, "schema", "USE_SCHEMA")
        & _holding(grants, "catalog", "USE_CATALOG")
    )
    if taggers & _starters(resources, releases):
        return []
    reason = (
        "no principal both holds APPLY TAG on the model with USE SCHEMA and USE CATALOG and may start "
        f"the release job (CAN_MANAGE_RUN); taggers: {sorted(taggers) or 'none'}: nobody can approve"
    )
    return [(job.urn, f"waits for a human approval, but {reason}") for job in waiting]
