"""The environment stacks after the deployer moved into the bootstrap (issue 25): they declare no
identity, no federated credential and no role definition; the one role they still grant the
deployer (its vault's secrets) goes to the principal the handoff names, a pair the deployer's
delegation condition allows, so CI creates it at an environment's first deploy. What left the
stacks is retained in Azure, never deleted: the guard refuses a state that does not retain it.
(The deployer's own roles and their condition: tests/bootstrap/test_bootstrap_deployers.py.)
"""

from __future__ import annotations

import json
from io import StringIO

import pytest

from core.azure_roles import ROLE_DEFINITION_IDS
from core.environment import Environment
from infra.identity import DELEGATIONS, PINNED_BY_TYPE, Delegate
from stacks import deployer_move
from stacks.offline import OfflineRun

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
MOVED_TYPES = {type_ for type_, _ in deployer_move.LEFT_FOR_THE_BOOTSTRAP}


def test_the_environment_stacks_declare_no_deployer_identity_credential_or_role(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        assert not {r.urn for r in run.resources} & deployer_move.left_urns(env), env
        for type_ in MOVED_TYPES - {ROLE_ASSIGNMENT}:
            assert run.of_type(type_) == [], (env, type_)


def test_the_deployers_vault_role_goes_to_the_handoffs_principal_within_its_delegation(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        deployer = run.exports["deployerPrincipalId"]
        grants = [r for r in run.of_type(ROLE_ASSIGNMENT) if r.plain_inputs()["principalId"] == deployer]
        assert [r.name for r in grants] == ["platform-identity-kv-secrets-officer"], env
        assert DELEGATIONS["Key Vault Secrets Officer"] is Delegate.DEPLOYER
        # Every delegated role the stack grants is one the deployer may write: its own pair, or a
        # service principal for the access connector's (PINNED_BY_TYPE), with the type set.
        for assignment in run.of_type(ROLE_ASSIGNMENT):
            inputs = assignment.plain_inputs()
            role = str(inputs["roleDefinitionId"]).rsplit("/", 1)[-1]
            delegated = {ROLE_DEFINITION_IDS[name]: who for name, who in DELEGATIONS.items()}
            assert role in delegated, (env, assignment.name)
            if delegated[role] in PINNED_BY_TYPE:
                assert inputs["principalType"] == PINNED_BY_TYPE[delegated[role]], (env, assignment.name)


def _export(stack: str, retained: bool) -> str:
    resources = [{"urn": urn, "retainOnDelete": retained} for urn in sorted(deployer_move.left_urns(stack))]
    return json.dumps({"version": 3, "deployment": {"resources": resources}})


def test_the_guard_passes_a_retained_state_a_new_environment_and_a_moved_one() -> None:
    assert deployer_move.main(["dev"], StringIO(_export("dev", retained=True))) == 0
    assert deployer_move.main(["dev"], StringIO("")) == 0  # no state yet: a new environment
    assert deployer_move.main(["dev"], StringIO(json.dumps({"deployment": {"resources": []}}))) == 0


def test_the_guard_stops_a_state_from_before_the_retain_release(capsys: pytest.CaptureFixture[str]) -> None:
    assert deployer_move.main(["prod"], StringIO(_export("prod", retained=False))) == 2
    err = capsys.readouterr().err
    assert "prod: this release no longer declares the deployer" in err
    assert err.count("urn:pulumi:prod::") == len(deployer_move.LEFT_FOR_THE_BOOTSTRAP)
    # Another stack's URNs are not this stack's concern.
    assert deployer_move.main(["uat"], StringIO(_export("prod", retained=False))) == 0
