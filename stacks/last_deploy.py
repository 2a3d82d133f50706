"""The stack's own outputs of its last ``pulumi up``, read back: what that update created.

Why existence is decided from them: infra/last_deploy.py. This module owns the output keys that
record it; ``export_outputs`` (stacks/program.py) writes them under ``projects.<name>``, and the
next run reads them here.

The stack reads itself through a StackReference to its own fully qualified name
(``<organization>/<project>/<stack>``; the self-managed backend's organization is always
``organization``, pulumi/pulumi ``pkg/backend/diy/store.go``, ``ParseReference``). The engine
answers it from the stack's last checkpoint (``pkg/resource/deploy/builtins.go``,
``readStackReference`` -> ``backend.GetStackOutputs``), with nothing more than read access to the
state, which every identity that may run the program holds; a stack never deployed has no outputs
(``pkg/backend/diy/state.go``, ``getSnapshotStackOutputs``). A stack reading its own previous
outputs this way is a maintainer's example in pulumi/pulumi#3722. The reference is a read
resource (``external`` in the state): renaming it deletes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pulumi

from infra.last_deploy import DeployedObjects

REFERENCE_NAME = "last-deploy"
PROJECTS_OUTPUT = "projects"
# Under projects.<name>: the version the serving endpoint was created on, and the monitored table.
ENDPOINT_VERSION = "servingEndpointVersion"
MONITORED_TABLE = "qualityMonitorTable"


def own_stack_name() -> str:
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


def deployed_objects(projects: Iterable[str]) -> dict[str, DeployedObjects]:
    """Per project, what the stack's last ``pulumi up`` recorded that it created."""
    reference = pulumi.StackReference(REFERENCE_NAME, stack_name=own_stack_name())
    recorded = reference.get_output(PROJECTS_OUTPUT)

    def value(project: str, key: str) -> pulumi.Output[str | None]:
        def read(outputs: Any) -> str | None:
            entry = (outputs or {}).get(project) if isinstance(outputs, dict) else None
            found = entry.get(key) if isinstance(entry, dict) else None
            return str(found) if found is not None else None

        return recorded.apply(read)

    return {
        project: DeployedObjects(
            endpoint_version=value(project, ENDPOINT_VERSION), monitored_table=value(project, MONITORED_TABLE)
        )
        for project in projects
    }
