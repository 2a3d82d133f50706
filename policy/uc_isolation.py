"""Unity Catalog isolation: each environment's credential, location and catalog reach one workspace.

An OPEN storage credential or external location is usable from every workspace attached to the
metastore, and an OPEN catalog is visible from all of them: another environment's workspace (its
deployer, its jobs) could read or write this environment's data through it. ISOLATED plus an
explicit ``WorkspaceBinding`` to the stack's own workspace keeps each environment to itself
(pulumi-databricks ``workspace_binding.py``; docs/security.md, trust model).
"""

from __future__ import annotations

from collections.abc import Sequence

from .access import CATALOG, EXTERNAL_LOCATION, STORAGE_CREDENTIAL
from .context import PolicyContext
from .props import UNKNOWN_MASK
from .stack_rule import StackResource, of_type

WORKSPACE_BINDING = "databricks:index/workspaceBinding:WorkspaceBinding"
# The isolation_mode each securable type takes, and its binding's securable_type.
ISOLATED: dict[str, tuple[str, str]] = {
    STORAGE_CREDENTIAL: ("ISOLATION_MODE_ISOLATED", "storage_credential"),
    EXTERNAL_LOCATION: ("ISOLATION_MODE_ISOLATED", "external_location"),
    CATALOG: ("ISOLATED", "catalog"),
}


def check_uc_isolated(resources: Sequence[StackResource], context: PolicyContext) -> list[tuple[str, str]]:
    """Every credential, location and catalog is ISOLATED and bound to the stack's one workspace."""
    bindings = of_type(resources, WORKSPACE_BINDING)
    violations: list[tuple[str, str]] = []
    for resource in [r for r in resources if r.type in ISOLATED]:
        mode, securable_type = ISOLATED[resource.type]
        if resource.props.get("isolationMode") != mode:
            violations.append(
                (resource.urn, f"isolationMode is not {mode}: every workspace of the metastore could use it")
            )
        bound = [
            b
            for b in bindings
            if resource.urn in b.dependencies and b.props.get("securableType") == securable_type
        ]
        if not bound:
            violations.append(
                (resource.urn, f"no WorkspaceBinding ({securable_type}) binds it to this stack's workspace")
            )
    workspaces = {
        str(b.props.get("workspaceId"))
        for b in bindings
        if b.props.get("workspaceId") not in (None, "", UNKNOWN_MASK)
    }
    if len(workspaces) > 1:
        violations += [
            (b.urn, f"bindings name several workspaces {sorted(workspaces)}: bind to this stack's only")
            for b in bindings
        ]
    return violations
