"""What must hold between the ML projects of one planned environment, whatever the projects are.

Every project-owned resource is found under its ``MlProject`` component (``databricks-<name>``);
the checks compare each project's resources with that project's own settings and wheel only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.wheel import WheelContents
from stacks.offline import OfflineRun, RecordedResource
from stacks.projects import ProjectSettings
from stacks.settings import StackSettings

PROJECT_COMPONENT = "mlops:databricks:MlProject"
JOB = "databricks:index/job:Job"
GRANTS = "databricks:index/grants:Grants"
PERMISSIONS = "databricks:index/permissions:Permissions"
SECRET_ACL = "databricks:index/secretAcl:SecretAcl"  # noqa: S105 - a type token  # pragma: allowlist secret
ENDPOINT = "databricks:index/modelServing:ModelServing"


@dataclass(frozen=True)
class PlannedProject:
    settings: ProjectSettings
    wheel: WheelContents
    resources: tuple[RecordedResource, ...]

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [r.plain_inputs() for r in self.resources if r.type == type_]


def projects_of(
    run: OfflineRun, settings: StackSettings, wheels: Mapping[str, WheelContents]
) -> dict[str, PlannedProject]:
    """Each project's resources: everything below its MlProject component."""
    by_urn = run.by_urn()
    components = {r.urn: r.name for r in run.resources if r.type == PROJECT_COMPONENT}

    def owner(resource: RecordedResource) -> str | None:
        urn: str | None = resource.urn
        while urn in by_urn:
            if urn in components:
                return components[urn]
            urn = by_urn[urn].parent
        return None

    owned: dict[str, list[RecordedResource]] = {name: [] for name in components.values()}
    for resource in run.resources:
        name = owner(resource)
        if name is not None and resource.custom:
            owned[name].append(resource)
    return {
        project.name: PlannedProject(
            project, wheels[project.name], tuple(owned[f"databricks-{project.name}"])
        )
        for project in settings.projects
    }


def physical_names(run: OfflineRun) -> Counter[str]:
    """Names Databricks keeps unique per workspace or metastore: jobs, endpoints, experiments,
    schemas, models (catalog.schema.name), secret ACLs (scope + principal)."""
    names: Counter[str] = Counter()
    for resource in run.resources:
        inputs = resource.plain_inputs()
        if resource.type in {JOB, ENDPOINT, "databricks:index/mlflowExperiment:MlflowExperiment"}:
            names[f"{resource.type}:{inputs['name']}"] += 1
        elif resource.type == "databricks:index/schema:Schema":
            names[f"schema:{inputs['catalogName']}.{inputs['name']}"] += 1
        elif resource.type == "databricks:index/registeredModel:RegisteredModel":
            names[f"model:{inputs['catalogName']}.{inputs['schemaName']}.{inputs['name']}"] += 1
        elif resource.type == SECRET_ACL:
            names[f"acl:{inputs['scope']}:{inputs['principal']}"] += 1
    return names


def groups_granted(project: PlannedProject) -> set[str]:
    """Every group a project's grants and ACLs name (UC grants name groups by their name)."""
    groups = {
        entry["principal"]
        for grants in project.of_type(GRANTS)
        for entry in grants["grants"]
        if not _looks_like_an_application_id(entry["principal"])
    }
    groups |= {
        entry["groupName"]
        for permissions in project.of_type(PERMISSIONS)
        for entry in permissions["accessControls"]
        if "groupName" in entry
    }
    return groups


def _looks_like_an_application_id(principal: str) -> bool:
    return principal.count("-") == 4 and len(principal) == 36


def check_project_invariants(
    run: OfflineRun, settings: StackSettings, wheels: Mapping[str, WheelContents]
) -> dict[str, PlannedProject]:
    """Assert the four per-project invariants; return the projects for further checks."""
    planned = projects_of(run, settings, wheels)
    assert set(planned) == {p.name for p in settings.projects}
    # 1. Unique names: no two resources claim one physical name.
    assert {name: n for name, n in physical_names(run).items() if n > 1} == {}
    db = settings.databricks
    shared_groups = {db.readers_group, db.deployers_group, db.approvers_group}
    developers = {p.settings.developers_group for p in planned.values()}
    catalog = db.catalog
    for name, project in planned.items():
        own = project.settings
        assert project.resources, f"{name}: no resources"
        # 2. Isolation of grants: its own developers group, the shared ones, and no other project's.
        granted = groups_granted(project)
        assert own.developers_group in granted, name
        assert granted - shared_groups == {own.developers_group}, name
        assert not granted & (developers - {own.developers_group}), name
        # Its UC objects all live in its own schema.
        for grants in project.of_type(GRANTS):
            securable = grants.get("schema") or grants.get("volume") or grants.get("model")
            assert securable.startswith(f"{catalog}.{own.schema_}"), (name, securable)
        # 3. Each endpoint serves only its own model, and logs to its own schema.
        model = f"{catalog}.{own.schema_}.{own.model_name}"
        for endpoint in project.of_type(ENDPOINT):
            assert {e["entityName"] for e in endpoint["config"]["servedEntities"]} == {model}, name
            table = endpoint["aiGateway"]["inferenceTableConfig"]
            assert (table["catalogName"], table["schemaName"]) == (catalog, own.schema_), name
        # 4. Each job runs only its own wheel's entry points, installed from its own volume.
        jobs = project.of_type(JOB)
        assert {job["tags"]["job"] for job in jobs} == set(project.wheel.graph.jobs), name
        volume = f"/Volumes/{catalog}/{own.schema_}/artifacts/wheels/{project.wheel.distribution}-"
        for job in jobs:
            for task in job["tasks"]:
                wheel_task = task["pythonWheelTask"]
                assert wheel_task["packageName"] == project.wheel.graph.package_name, name
                assert wheel_task["entryPoint"] in project.wheel.console_scripts, name
            # Besides its own wheel, a job installs only the versions that wheel's lock pins.
            pinned = set(project.wheel.pinned_requirements)
            installed = [
                *(
                    d
                    for env in job.get("environments", [])
                    for d in env["spec"]["dependencies"]
                    if d not in pinned
                ),
                *(lib["whl"] for task in job["tasks"] for lib in task.get("libraries", [])),
            ]
            assert installed, name
            assert all(path.startswith(volume) for path in installed), (name, installed)
    return planned
