"""The deployer cannot extend its own trust (issue 29, finding 8): it never holds Contributor, whose
actions include writing the federated credentials of the identity beside it in its resource group,
and it may hand a role only to the one principal that role is for.

The plan is what a real ``pulumi up`` registers; the condition is checked the way Azure evaluates
it for a ``roleAssignments/write``: a (role, principal) request is allowed only by a clause naming
both.
"""

from __future__ import annotations

import re

from core.azure_roles import IDENTITY_SELF_ACTIONS, ROLE_DEFINITION_IDS
from core.environment import Environment
from infra.identity import DELEGATIONS
from stacks.offline import OfflineRun, RecordedResource

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
_ALLOWED_WRITE = re.compile(
    r"@Request\[Microsoft\.Authorization/roleAssignments:RoleDefinitionId\] ForAnyOfAnyValues:GuidEquals "
    r"\{(?P<role>[0-9a-f-]+)\} AND @Request\[Microsoft\.Authorization/roleAssignments:PrincipalId\] "
    r"ForAnyOfAnyValues:GuidEquals \{(?P<principal>[0-9a-f-]+)\}"
)


ROLE_NAMES = {guid: name for name, guid in ROLE_DEFINITION_IDS.items()}


def role_name(assignment: RecordedResource) -> str:
    guid = str(assignment.plain_inputs()["roleDefinitionId"]).rsplit("/", 1)[-1]
    return ROLE_NAMES.get(guid, guid)


def _deployer_grants(run: OfflineRun) -> list[RecordedResource]:
    deployer = run.exports["deployerPrincipalId"]
    return [r for r in run.of_type(ROLE_ASSIGNMENT) if r.plain_inputs()["principalId"] == deployer]


def _allowed_writes(run: OfflineRun) -> set[tuple[str, str]]:
    [admin] = [r for r in _deployer_grants(run) if role_name(r) == "Role Based Access Control Administrator"]
    condition = str(admin.plain_inputs()["condition"])
    write_clause = condition.split(
        " AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'}))", maxsplit=1
    )[0]
    return {(m["role"], m["principal"]) for m in _ALLOWED_WRITE.finditer(write_clause)}


def test_the_deployer_holds_no_role_that_writes_its_own_federated_credential(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        roles = {role_name(r) for r in _deployer_grants(run)}
        assert "Contributor" not in roles, env
        [definition] = run.of_type(ROLE_DEFINITION)
        [permission] = definition.plain_inputs()["permissions"]
        assert permission["actions"] == ["*"]
        assert set(IDENTITY_SELF_ACTIONS) <= set(permission["notActions"]), env
        assert definition.plain_inputs()["roleDefinitionId"] in roles, env  # its group role is this one
        assert definition.plain_inputs()["assignableScopes"] == [str(definition.plain_inputs()["scope"])]


def test_the_deployer_may_assign_each_role_to_its_one_principal_only(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        allowed = _allowed_writes(run)
        assert {role for role, _ in allowed} == {ROLE_DEFINITION_IDS[r] for r in DELEGATIONS}, env
        assert len(allowed) == len(DELEGATIONS), env  # one principal per role
        # Every delegable assignment the program manages stays within the condition, so CI keeps it.
        for assignment in run.of_type(ROLE_ASSIGNMENT):
            inputs = assignment.plain_inputs()
            guid = str(inputs["roleDefinitionId"]).rsplit("/", 1)[-1]
            if role_name(assignment) in DELEGATIONS:
                assert (guid, inputs["principalId"]) in allowed, (env, assignment.name)
        # And nobody else: a principal of the plan outside its pair is refused.
        assert (ROLE_DEFINITION_IDS["Reader"], run.exports["deployerPrincipalId"]) not in allowed


# What leaves the environment stacks with the deployer: identity, credential, group role and its
# two group assignments (CI may delete none of them).
LEAVING = (
    "platform-identity-deployer",
    "platform-identity-github-oidc",
    "platform-identity-deployer-role",
    "platform-identity-rg-contributor",
    "platform-identity-rg-rbac-admin",
)


def test_the_deployer_and_its_credential_stay_in_azure_when_they_leave_the_stack(
    plans: dict[Environment, OfflineRun],
) -> None:
    """Step one of moving the deployer into the bootstrap (docs/bootstrap.md): retain-on-delete is in
    every environment's state before any release drops the pair, so no drop deletes the identity CI
    logs in as. Protect would make that drop fail instead (pkg/resource/deploy/step.go)."""
    for env, run in plans.items():
        leaving = [r for r in run.resources if r.name in LEAVING]
        assert sorted(r.name for r in leaving) == sorted(LEAVING), env
        for resource in leaving:
            assert resource.options["retainOnDelete"] is True, (env, resource.name)
            assert resource.protect is False, (env, resource.name)
        # The vault role stays in the stack (the deployer may grant it to itself): deleted with it.
        [vault_role] = [r for r in run.of_type(ROLE_ASSIGNMENT) if r.name.endswith("kv-secrets-officer")]
        assert vault_role.options.get("retainOnDelete") is not True, env
