"""Who may do what, checked as invariants on the real plans of the four stacks.

These tests do not rebuild the expected grants from the table the code uses (infra/access.py); they
state what must hold whatever the table says, so a wrong table entry or a wrong per-environment
setting fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.environment import PRODUCTION_LIKE, Environment
from infra.wheel import read_wheel
from stacks.offline import OfflineRun, RecordedResource
from stacks.plan import stack_settings
from stacks.settings import StackSettings
from stacks.wiring import project_dist

GRANTS = "databricks:index/grants:Grants"
PERMISSIONS = "databricks:index/permissions:Permissions"
SECRET_ACL = "databricks:index/secretAcl:SecretAcl"  # noqa: S105 - a type token  # pragma: allowlist secret
CATALOG = "databricks:index/catalog:Catalog"
SCHEMA = "databricks:index/schema:Schema"
# What reading needs in Unity Catalog; every other privilege changes something.
READ_PRIVILEGES = frozenset({"BROWSE", "USE_CATALOG", "USE_SCHEMA", "SELECT", "EXECUTE", "READ_VOLUME"})
READ_LEVELS = frozenset({"CAN_VIEW", "CAN_READ"})
_APPLICATION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
GUARDED = sorted(PRODUCTION_LIKE)
BUILDING = sorted(set(Environment) - PRODUCTION_LIKE)


def settings_of(environment: Environment) -> StackSettings:
    return stack_settings(environment.value)


def is_group(principal: str) -> bool:
    """Service principals are named by their application id; account groups by their name."""
    return not _APPLICATION_ID.fullmatch(principal)


def uc_grants(run: OfflineRun) -> list[tuple[str, str, set[str]]]:
    """(securable kind, principal, privileges) for every grant of the plan."""
    found = []
    for resource in run.of_type(GRANTS):
        inputs = resource.plain_inputs()
        (kind,) = set(inputs) & {"catalog", "schema", "volume", "model"}
        found += [(kind, grant["principal"], set(grant["privileges"])) for grant in inputs["grants"]]
    return found


def acl_entries(resource: RecordedResource) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = resource.plain_inputs()["accessControls"]
    return entries


def owners(run: OfflineRun) -> set[str]:
    return {
        r.plain_inputs()["owner"]
        for r in run.resources
        if r.type.startswith("databricks:") and "owner" in r.plain_inputs()
    }


@pytest.mark.parametrize("environment", GUARDED)
def test_in_uat_and_prod_no_group_but_the_owners_changes_anything_in_unity_catalog(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """Groups read; the only change a group may make is the approvers' APPLY_TAG on the model (the
    approval itself). The deployers own the securables and need no grant to change them."""
    run = plans[environment]
    owning = owners(run)
    assert settings_of(environment).databricks.deployers_group in owning
    for kind, principal, privileges in uc_grants(run):
        if not is_group(principal) or principal in owning:
            continue
        allowed = READ_PRIVILEGES | ({"APPLY_TAG"} if kind == "model" else set())
        assert privileges <= allowed, (environment, kind, principal, privileges - allowed)


@pytest.mark.parametrize("environment", GUARDED)
def test_in_uat_and_prod_groups_only_look_at_jobs_experiments_and_endpoints(
    trained_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """Except the approvers, who start the jobs the graph marks run_by_approvers (docs/ml.md)."""
    run = trained_plans[environment]
    approvers = settings_of(environment).databricks.approvers_group
    run_by_approvers = {
        key
        for project in settings_of(environment).projects
        for key, job in read_wheel(project_dist(project)).graph.jobs.items()
        if job.run_by_approvers
    }
    assert run_by_approvers
    permissions = run.of_type(PERMISSIONS)
    assert {"jobId", "experimentId", "servingEndpointId"} <= {k for p in permissions for k in p.inputs}
    for resource in permissions:
        for entry in acl_entries(resource):
            if "groupName" not in entry or entry["permissionLevel"] in READ_LEVELS:
                continue
            # databricks-<project>-jobs-<job>-permissions
            job = resource.name.partition("-jobs-")[2].removesuffix("-permissions")
            assert (entry["groupName"], entry["permissionLevel"], job in run_by_approvers) == (
                approvers,
                "CAN_MANAGE_RUN",
                True,
            ), (environment, resource.name, entry)


@pytest.mark.parametrize("environment", GUARDED)
def test_in_uat_and_prod_no_group_reads_the_secrets(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    acls = [a.plain_inputs() for a in plans[environment].of_type(SECRET_ACL)]
    assert acls, environment  # the job principal reads them
    assert [a for a in acls if is_group(a["principal"])] == []


@pytest.mark.parametrize("environment", GUARDED)
def test_in_uat_and_prod_a_destroy_drops_no_table(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    run = plans[environment]
    for resource in run.of_type(CATALOG) + run.of_type(SCHEMA):
        assert resource.plain_inputs().get("forceDestroy") is not True, (environment, resource.name)


@pytest.mark.parametrize("environment", BUILDING)
def test_developers_build_only_where_the_stack_lets_them(
    trained_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """In sandbox and dev the developers group creates tables and models and runs jobs; the
    guarded environments are checked above. Nobody else but the platform's identities writes."""
    run = trained_plans[environment]
    # Each project's developers group (the per-project isolation: tests/stacks/test_projects.py).
    developers = {project.developers_group for project in settings_of(environment).projects}
    owning = owners(run)
    writers = {
        principal
        for _, principal, privileges in uc_grants(run)
        if is_group(principal) and principal not in owning and privileges - READ_PRIVILEGES
    }
    assert writers == developers, environment
    job_runners = {
        entry["groupName"]
        for resource in run.of_type(PERMISSIONS)
        if "jobId" in resource.inputs
        for entry in acl_entries(resource)
        if entry.get("permissionLevel") == "CAN_MANAGE_RUN" and "groupName" in entry
    }
    assert developers <= job_runners, environment


def test_readers_never_write_anywhere(plans: dict[Environment, OfflineRun]) -> None:
    for environment, run in plans.items():
        readers = settings_of(environment).databricks.readers_group
        for kind, principal, privileges in uc_grants(run):
            if principal == readers:
                assert privileges <= READ_PRIVILEGES, (environment, kind, privileges)
        assert readers not in {a.plain_inputs()["principal"] for a in run.of_type(SECRET_ACL)}


def test_only_configured_principals_are_granted_anything(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    """Every group a grant or ACL names is one of the stack's groups (no stray or typo'd group)."""
    for environment, run in trained_plans.items():
        settings = settings_of(environment)
        db = settings.databricks
        configured = {db.deployers_group, db.readers_group, db.approvers_group}
        configured |= {project.developers_group for project in settings.projects}
        named = {p for _, p, _ in uc_grants(run) if is_group(p)}
        named |= {
            e["groupName"] for r in run.of_type(PERMISSIONS) for e in acl_entries(r) if "groupName" in e
        }
        named |= {a.plain_inputs()["principal"] for a in run.of_type(SECRET_ACL)}
        assert {p for p in named if is_group(p)} <= configured, environment


def test_the_platform_passes_every_value_the_gate_and_the_monitor_decide_with(
    plans: dict[Environment, OfflineRun],
) -> None:
    """Every approve task gets require_approval from the settings, and margin as a task or job
    parameter; every monitor task gets model.drift.*. The settings (stacks/defaults.py and the
    stack file) are their only owner: the wheel keeps no table per environment, and a value the
    jobs did not get would be its local default instead (mlops_framework.vocabulary.DECISION_DEFAULTS)."""
    for environment, run in plans.items():
        settings = settings_of(environment)
        drift = settings.model.drift
        expected_drift = {
            "drift_psi_threshold": str(drift.psi_threshold),
            "drift_p_value": str(drift.p_value),
            "drift_min_rows": str(drift.min_rows),
        }
        gates = monitors = 0
        margins = {project.name: project.margin for project in settings.projects}
        for job in run.of_type("databricks:index/job:Job"):
            inputs = job.plain_inputs()
            job_parameters = {p["name"]: p["default"] for p in inputs.get("parameters", [])}
            for task in inputs["tasks"]:
                entry_point = task["pythonWheelTask"]["entryPoint"]
                named = task["pythonWheelTask"]["namedParameters"]
                if entry_point.endswith("-monitor"):
                    monitors += 1
                    assert {key: named.get(key) for key in expected_drift} == expected_drift, environment
                if not entry_point.endswith("-approve"):
                    continue
                gates += 1
                assert named["require_approval"] == str(settings.model.require_approval).lower()
                margin = job_parameters.get("margin", named.get("margin"))
                # Each project's own margin (projects[].margin).
                assert margin == str(margins[inputs["tags"]["ml-project"]]), (environment, job.name)
        assert gates >= 2, environment  # the training job's gate and the release job's
        assert monitors >= 1, environment
