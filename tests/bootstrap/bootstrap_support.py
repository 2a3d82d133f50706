"""Reading a bootstrap plan: role assignments by principal and role name, resources by type."""

from __future__ import annotations

from typing import Any

from core.azure_roles import ROLE_DEFINITION_IDS
from stacks.offline import OfflineRun, RecordedResource

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
# Every answer `make bootstrap` asks for, each one that fits (bootstrap/answers.py).
ANSWERS = {
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-4000-8000-000000000001",
    "GITHUB_OWNER": "contoso",
    "GITHUB_REPOSITORY": "mlops-platform",
    "RELEASE_MANAGERS": "user:octocat",
    "PROD_REVIEWERS": "mlops-prod-approvers",
    "CODE_OWNERS": "mlops-platform-owners",
    "BOOTSTRAP_OPERATORS": "00000000-0000-4000-8000-0000000000c1",
    "BOOTSTRAP_STACK": "contoso",
    "BOOTSTRAP_BACKEND": "file:///tmp/never-used",
}
ROLE_NAMES = {guid: name for name, guid in ROLE_DEFINITION_IDS.items()}


def role_name(assignment: RecordedResource) -> str:
    guid = str(assignment.plain_inputs()["roleDefinitionId"]).rsplit("/", 1)[-1]
    return ROLE_NAMES.get(guid, guid)


def grants_of(run: OfflineRun, principal_id: str) -> list[tuple[str, str]]:
    """(role name, scope) of every role assignment to ``principal_id``."""
    return sorted(
        (role_name(r), str(r.plain_inputs()["scope"]))
        for r in run.of_type(ROLE_ASSIGNMENT)
        if r.plain_inputs()["principalId"] == principal_id
    )


def only(run: OfflineRun, type_: str) -> dict[str, Any]:
    """The plain inputs of the one resource of ``type_``."""
    matches = run.of_type(type_)
    assert len(matches) == 1, f"expected one {type_}, found {len(matches)}"
    return matches[0].plain_inputs()
