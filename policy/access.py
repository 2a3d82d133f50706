"""Who may do what across resources: run_as roles, the deployer in the workspace, UC ownership,
the endpoint creator's EXECUTE, and the storage role the Unity Catalog credential validates (and
the wait for it to propagate).

Each rule here is one that a real ``pulumi up`` enforces and the offline mocks do not: every
failing case in tests/policy shows the form that a real deploy refused. Values the engine does not
know yet (``[computed]`` offline, unknown in a preview) never count as a violation on their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.azure_roles import ROLE_DEFINITION_IDS, ROLE_PROPAGATION_MINUTES

from .context import PolicyContext
from .props import UNKNOWN_MASK, get_path, mappings
from .stack_rule import StackResource, depends_on, of_type, urn_type

JOB = "databricks:index/job:Job"
RULE_SET = "databricks:index/accessControlRuleSet:AccessControlRuleSet"
SERVICE_PRINCIPAL = "databricks:index/servicePrincipal:ServicePrincipal"
GROUP_MEMBER = "databricks:index/groupMember:GroupMember"
STORAGE_CREDENTIAL = "databricks:index/storageCredential:StorageCredential"
EXTERNAL_LOCATION = "databricks:index/externalLocation:ExternalLocation"
CATALOG = "databricks:index/catalog:Catalog"
SCHEMA = "databricks:index/schema:Schema"
VOLUME = "databricks:index/volume:Volume"
GRANTS = "databricks:index/grants:Grants"
MODEL_SERVING = "databricks:index/modelServing:ModelServing"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED_CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
# pulumiverse-time's Sleep: waits createDuration when created, again only when its triggers change.
SLEEP = "time:index/sleep:Sleep"

SERVICE_PRINCIPAL_USER = "roles/servicePrincipal.user"
STORAGE_BLOB_DATA_CONTRIBUTOR = ROLE_DEFINITION_IDS["Storage Blob Data Contributor"]
# Securables whose owner must be the deployers group (the registered model is owned by the job
# principal: setting an alias needs the owner).
OWNED_SECURABLES: tuple[str, ...] = (STORAGE_CREDENTIAL, EXTERNAL_LOCATION, CATALOG, SCHEMA, VOLUME)


def _known(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and value != UNKNOWN_MASK


def check_run_as_user_role(
    resources: Sequence[StackResource], context: PolicyContext
) -> list[tuple[str, str]]:
    """A job's run_as service principal needs Service Principal User for whoever deploys the job."""
    rule_sets = of_type(resources, RULE_SET)
    violations: list[tuple[str, str]] = []
    for job in of_type(resources, JOB):
        principal = get_path(job.props, "runAs.servicePrincipalName")
        if principal is None:
            continue  # no service principal run_as: job-runs-as-service-principal says so
        granting = [
            rule_set
            for rule_set in depends_on(job, rule_sets)
            if any(
                g.get("role") == SERVICE_PRINCIPAL_USER for g in mappings(rule_set.props.get("grantRules"))
            )
        ]
        if not granting:
            violations.append(
                (
                    job.urn,
                    f"runAs names service principal {principal}, but the job depends on no rule set granting "
                    f"{SERVICE_PRINCIPAL_USER}: the Jobs API refuses run_as to a caller without that role",
                )
            )
            continue
        if _known(principal):
            names = [str(r.props.get("name")) for r in granting if _known(r.props.get("name"))]
            suffix = f"/servicePrincipals/{principal}/ruleSets/default"
            if names and not any(name.endswith(suffix) for name in names):
                violations.append((job.urn, f"the rule sets it depends on are not {principal}'s: {names}"))
    return violations


DEPLOYER_DISPLAY_SUFFIX = "-deployer"  # infra/naming.py, DatabricksNames.deployer: <prefix>-<env>-deployer


def check_deployer_in_workspace(
    resources: Sequence[StackResource], context: PolicyContext
) -> list[tuple[str, str]]:
    """The identity CI logs in as is registered in the workspace and is a workspace admin. The
    identity is the bootstrap's (infra/bootstrap_deployer.py); the environment stack knows it by
    the client id the handoff gives it, and registers it under its deployer display name. The
    bootstrap's Databricks objects are the account's (infra/account_access.py)."""
    databricks = [r for r in resources if r.type.startswith("databricks:index/")]
    if context.is_bootstrap or not databricks:
        return []
    registered = [
        sp
        for sp in of_type(resources, SERVICE_PRINCIPAL)
        if sp.props.get("applicationId")
        and str(sp.props.get("displayName") or "").endswith(DEPLOYER_DISPLAY_SUFFIX)
    ]
    if not registered:
        return [
            (
                databricks[0].urn,
                "CI logs in as the environment's deployer, but no databricks ServicePrincipal registers its "
                "client id in the workspace: with github-oidc-azure the workspace refuses an identity it has "
                "not seen",
            )
        ]
    members = of_type(resources, GROUP_MEMBER)
    return [
        (sp.urn, "its workspace service principal is in no group: add it to the admins")
        for sp in registered
        if not any(sp.urn in member.dependencies for member in members)
    ]


def check_uc_owners(resources: Sequence[StackResource], context: PolicyContext) -> list[tuple[str, str]]:
    """Every UC securable names its owner, and they all name the same one (the deployers group)."""
    securables = [r for r in resources if r.type in OWNED_SECURABLES]
    violations = [
        (
            r.urn,
            "no owner: whoever runs the first `pulumi up` would own it, and CI could neither write to it "
            "nor change its grants; set owner to the deployers group",
        )
        for r in securables
        if not r.props.get("owner")
    ]
    owners = sorted({str(r.props["owner"]) for r in securables if _known(r.props.get("owner"))})
    if len(owners) > 1:
        violations += [
            (
                r.urn,
                f"owners differ between the Unity Catalog securables: {owners}; one deployers group owns all",
            )
            for r in securables
            if r.props.get("owner") != owners[0]
        ]
    return violations


def _catalog_owner(resources: Sequence[StackResource]) -> str | None:
    owners = {str(c.props["owner"]) for c in of_type(resources, CATALOG) if _known(c.props.get("owner"))}
    return next(iter(owners)) if len(owners) == 1 else None


def _executes(grants: StackResource, principal: str) -> bool:
    return any(
        g.get("principal") == principal and "EXECUTE" in (g.get("privileges") or [])
        for g in mappings(grants.props.get("grants"))
    )


def check_endpoint_creator_executes(
    resources: Sequence[StackResource], context: PolicyContext
) -> list[tuple[str, str]]:
    """The endpoint's creator (a deployer) needs EXECUTE on each model it serves, granted first."""
    deployers = _catalog_owner(resources)
    model_grants = [g for g in of_type(resources, GRANTS) if g.props.get("model")]
    violations: list[tuple[str, str]] = []
    for endpoint in of_type(resources, MODEL_SERVING):
        for entity in mappings(get_path(endpoint.props, "config.servedEntities")):
            model = entity.get("entityName")
            if not _known(model):
                continue
            grants = [g for g in model_grants if g.props.get("model") == model]
            if deployers is None or not any(_executes(g, deployers) for g in grants):
                violations.append(
                    (
                        endpoint.urn,
                        f"serves {model}, but no Grants gives EXECUTE on it to the deployers "
                        f"({deployers or 'the catalog owner'}): the creator of an endpoint must hold EXECUTE",
                    )
                )
            elif not depends_on(endpoint, grants):
                violations.append((endpoint.urn, f"is not created after the Grants on {model}"))
    return violations


def _grants_blob_access(role: StackResource | None) -> bool:
    if role is None:  # referenced, not in this plan: its type is all we know
        return True
    definition = str(role.props.get("roleDefinitionId") or "")
    return definition == UNKNOWN_MASK or definition.lower().endswith(STORAGE_BLOB_DATA_CONTRIBUTOR)


def check_storage_validation_after_propagation(
    resources: Sequence[StackResource], context: PolicyContext
) -> list[tuple[str, str]]:
    """Storage credential and external location validate the connector's access when created, and a
    new role takes up to ROLE_PROPAGATION_MINUTES to be honoured: each depends on a wait (a Sleep of
    at least that long, re-run when the assignment changes) after the connector's storage role."""
    by_urn: Mapping[str, StackResource] = {r.urn: r for r in resources}
    violations: list[tuple[str, str]] = []
    for resource in [*of_type(resources, STORAGE_CREDENTIAL), *of_type(resources, EXTERNAL_LOCATION)]:
        waits = [by_urn[d] for d in resource.dependencies if urn_type(d) == SLEEP and d in by_urn]
        problems = [_wait_problem(wait, by_urn) for wait in waits]
        if waits and not all(problems):
            continue
        problem = next((p for p in problems if p), "depends on no wait (time:Sleep) after it")
        violations.append(
            (
                resource.urn,
                f"validates storage access when created, through the access connector's Storage Blob "
                f"Data Contributor assignment, which Azure honours up to {ROLE_PROPAGATION_MINUTES} "
                f"minutes after creating it; {problem}: a first deploy races the role and fails",
            )
        )
    return violations


def _wait_problem(wait: StackResource, by_urn: Mapping[str, StackResource]) -> str:
    """What keeps ``wait`` from covering the storage role's propagation ("" when nothing does)."""
    roles = [d for d in wait.dependencies if urn_type(d) == ROLE_ASSIGNMENT]
    if not any(_grants_blob_access(by_urn.get(role)) for role in roles):
        return f"its wait {wait.urn} does not follow that assignment"
    duration = wait.props.get("createDuration")
    seconds = _go_duration_seconds(duration)
    if duration != UNKNOWN_MASK and (seconds is None or seconds < ROLE_PROPAGATION_MINUTES * 60):
        return f"its wait's createDuration is {duration!r}, less than {ROLE_PROPAGATION_MINUTES}m"
    if not wait.props.get("triggers"):
        return "its wait has no triggers (the assignment's id): a new assignment would not wait again"
    return ""


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")


def _go_duration_seconds(value: Any) -> float | None:
    """Seconds in a Go duration ("10m", "1m30s"; time.ParseDuration), None if it is not one."""
    text = str(value or "")
    parts = _GO_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)
