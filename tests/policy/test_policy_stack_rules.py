"""The stack rules over the real program's plans, and the old form of each defect they catch.

Each failing case takes a plan of the committed stacks (after a training run, so the endpoint and
the monitor exist) and puts back one thing a real `pulumi up` refused: a job without the rule set
its run_as needs, the deployer missing from the workspace, a securable without an owner, an
endpoint whose creator cannot read its model, a storage credential racing its role or its
role's propagation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import pytest
from harness import committed_settings

from core.environment import Environment
from core.pulumi_project import BOOTSTRAP_PROJECT
from policy.access import (
    CATALOG,
    GRANTS,
    GROUP_MEMBER,
    JOB,
    MODEL_SERVING,
    RULE_SET,
    SERVICE_PRINCIPAL,
    SLEEP,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_CREDENTIAL,
    VOLUME,
)
from policy.approval import PERMISSIONS
from policy.check_plan import evaluate, mandatory, stack_resource
from policy.context import PolicyContext
from policy.registry import STACK_RULES
from policy.stack_rule import StackResource, urn_type
from policy.uc_isolation import WORKSPACE_BINDING
from stacks.offline import OfflineRun

RULES = {rule.name: rule for rule in STACK_RULES}
Mutation = Callable[[list[StackResource]], list[StackResource]]


@pytest.fixture(scope="module")
def uat(trained_plans: dict[Environment, OfflineRun]) -> OfflineRun:
    return trained_plans[Environment.UAT]


def _resources(run: OfflineRun) -> list[StackResource]:
    return [stack_resource(r) for r in run.resources]


def _violations(
    rule: str, resources: Sequence[StackResource], context: PolicyContext | None = None
) -> list[tuple[str, str]]:
    return RULES[rule].evaluate(resources, context or PolicyContext("uat"))


def _edit(type_: str, change: Callable[[StackResource], StackResource | None]) -> Mutation:
    def mutate(resources: list[StackResource]) -> list[StackResource]:
        edited = [change(r) if r.type == type_ else r for r in resources]
        return [r for r in edited if r is not None]

    return mutate


def _without_dependency_on(type_: str, dependency_type: str) -> Mutation:
    return _edit(
        type_,
        lambda r: dataclasses.replace(
            r, dependencies=tuple(d for d in r.dependencies if urn_type(d) != dependency_type)
        ),
    )


def _without_waits(resources: list[StackResource]) -> list[StackResource]:
    """The plan as if the credential and the location depended on the storage role itself."""
    waits = {r.urn: r.dependencies for r in resources if r.type == SLEEP}
    return [
        dataclasses.replace(r, dependencies=tuple(x for d in r.dependencies for x in waits.get(d, (d,))))
        for r in resources
        if r.type != SLEEP
    ]


def _props(r: StackResource, **changes: object) -> StackResource:
    props = {**r.props, **changes}
    return dataclasses.replace(r, props={k: v for k, v in props.items() if v is not ...})


def _model_grants_without_deployers(r: StackResource) -> StackResource:
    if not r.props.get("model"):
        return r
    deployers = committed_settings(Environment.UAT).databricks.deployers_group  # the `uat` fixture's
    grants = [g for g in r.props["grants"] if g["principal"] != deployers]
    return _props(r, grants=grants)


def _model_grants_without(privilege: str) -> Callable[[StackResource], StackResource]:
    def change(r: StackResource) -> StackResource:
        if not r.props.get("model"):
            return r
        kept = [
            {**g, "privileges": [x for x in g["privileges"] if x != privilege]} for g in r.props["grants"]
        ]
        return _props(r, grants=kept)

    return change


def _without_start_rights(r: StackResource) -> StackResource:
    controls = [c for c in r.props["accessControls"] if c.get("permissionLevel") != "CAN_MANAGE_RUN"]
    return _props(r, accessControls=controls)


OLD_FORMS: list[tuple[str, str, Mutation, str]] = [
    # defect 1: jobs created without the Service Principal User role on their run_as
    (
        "run-as-needs-user-role",
        "jobs before the rule set",
        _without_dependency_on(JOB, RULE_SET),
        "depends on no rule set",
    ),
    (
        "run-as-needs-user-role",
        "a rule set granting Manager only (what the creator gets)",
        _edit(
            RULE_SET,
            lambda r: _props(
                r, grantRules=[g for g in r.props["grantRules"] if g["role"].endswith("manager")]
            ),
        ),
        "depends on no rule set",
    ),
    # defect 2: the deployer identity never added to the workspace
    (
        "deployer-in-workspace",
        "no deployer principal",
        _edit(SERVICE_PRINCIPAL, lambda r: None if r.props.get("applicationId") else r),
        "no databricks ServicePrincipal",
    ),
    ("deployer-in-workspace", "not an admin", _edit(GROUP_MEMBER, lambda r: None), "in no group"),
    # defect 3: securables owned by whoever ran the first `pulumi up`
    (
        "uc-owned-by-deployers",
        "catalog without owner",
        _edit(CATALOG, lambda r: _props(r, owner=...)),
        "no owner",
    ),
    (
        "uc-owned-by-deployers",
        "volume owned by someone else",
        _edit(VOLUME, lambda r: _props(r, owner="alice@example.com")),
        "owners differ",
    ),
    # defect 4: the endpoint's creator cannot read the model it serves
    (
        "endpoint-creator-executes-model",
        "no EXECUTE for the deployers",
        _edit(GRANTS, _model_grants_without_deployers),
        "no Grants gives EXECUTE",
    ),
    (
        "endpoint-creator-executes-model",
        "endpoint before the grants",
        _without_dependency_on(MODEL_SERVING, GRANTS),
        "not created after the Grants",
    ),
    # issue 18, defect 3: nobody could approve (developers hold EXECUTE only, can only view jobs)
    (
        "approval-has-an-approver",
        "no APPLY TAG for anyone",
        _edit(GRANTS, _model_grants_without("APPLY_TAG")),
        "nobody can approve",
    ),
    (
        "approval-has-an-approver",
        "approvers who may not start the release job",
        _edit(PERMISSIONS, _without_start_rights),
        "nobody can approve",
    ),
    (
        "approval-has-an-approver",
        "no release job",
        _edit(JOB, lambda r: None if not r.props.get("schedule") else r),
        "no job without a schedule runs the gate",
    ),
    # issue 29, finding 4: an OPEN credential or location serves every workspace of the metastore
    (
        "uc-isolated-to-its-workspace",
        "an open storage credential",
        _edit(STORAGE_CREDENTIAL, lambda r: _props(r, isolationMode="ISOLATION_MODE_OPEN")),
        "isolationMode is not ISOLATION_MODE_ISOLATED",
    ),
    (
        "uc-isolated-to-its-workspace",
        "isolated but bound nowhere",
        _edit(WORKSPACE_BINDING, lambda r: None),
        "no WorkspaceBinding (external_location)",
    ),
    # issue 23, defect 6: the jobs trust their catalog's environment over their `env` parameter
    (
        "catalog-names-its-environment",
        "a catalog that names no environment",
        _edit(CATALOG, lambda r: _props(r, properties=...)),
        "is None, not uat",
    ),
    (
        "catalog-names-its-environment",
        "uat's catalog that says dev",
        _edit(CATALOG, lambda r: _props(r, properties={"mlops.environment": "dev"})),
        "is 'dev', not uat",
    ),
    # defect 5: the credential validated before the connector's role exists
    (
        "uc-storage-after-role",
        "credential racing the role",
        _without_dependency_on(STORAGE_CREDENTIAL, SLEEP),
        "depends on no wait",
    ),
    # issue 24, defect 6: right after the role, before Azure honours it (the program before the wait)
    (
        "uc-storage-after-role",
        "location created when the role returns",
        _without_waits,
        "depends on no wait",
    ),
    (
        "uc-storage-after-role",
        "a wait shorter than the propagation",
        _edit(SLEEP, lambda r: _props(r, createDuration="30s")),
        "less than 10m",
    ),
    (
        "uc-storage-after-role",
        "a wait that a new assignment would not rerun",
        _edit(SLEEP, lambda r: _props(r, triggers=...)),
        "no triggers",
    ),
    (
        "uc-storage-after-role",
        "a wait before the role",
        _without_dependency_on(SLEEP, "azure-native:authorization:RoleAssignment"),
        "does not follow that assignment",
    ),
]


@pytest.mark.parametrize(
    ("rule", "case", "mutate", "expected"), OLD_FORMS, ids=[f"{r}: {c}" for r, c, _, _ in OLD_FORMS]
)
def test_each_stack_rule_catches_the_old_form(
    uat: OfflineRun, rule: str, case: str, mutate: Mutation, expected: str
) -> None:
    resources = _resources(uat)
    assert _violations(rule, resources) == []  # the committed program complies
    messages = [message for _, message in _violations(rule, mutate(resources))]
    assert messages, case
    assert any(expected in message for message in messages), messages


def _pull_request_key_moved_to(target: str) -> Mutation:
    """The PR-preview identity's sandbox key grant, pointed at another resource (the old form: prod's
    key, as the bootstrap granted before issue 29; or the whole vault)."""

    def mutate(resources: list[StackResource]) -> list[StackResource]:
        [moved_to] = [r.urn for r in resources if r.urn.endswith(target)]
        return [
            dataclasses.replace(
                r,
                dependencies=tuple(
                    moved_to if d.endswith("::state-key-sandbox") else d for d in r.dependencies
                ),
            )
            if r.urn.endswith("::backend-access-preview-key-sandbox")
            else r
            for r in resources
        ]

    return mutate


# Stack rules of the bootstrap project, on its plan.
BOOTSTRAP_OLD_FORMS: list[tuple[str, str, Mutation, str]] = [
    (
        "pull-request-reaches-sandbox-and-dev-only",
        "the PR-preview identity decrypts prod's key",
        _pull_request_key_moved_to("::state-key-prod"),
        "on prod's key or state",
    ),
    (
        "pull-request-reaches-sandbox-and-dev-only",
        "the PR-preview identity holds a role on the whole vault",
        _pull_request_key_moved_to("::state-vault"),
        "would reach every environment",
    ),
]


@pytest.mark.parametrize(
    ("rule", "case", "mutate", "expected"),
    BOOTSTRAP_OLD_FORMS,
    ids=[f"{r}: {c}" for r, c, _, _ in BOOTSTRAP_OLD_FORMS],
)
def test_each_bootstrap_stack_rule_catches_the_old_form(
    bootstrap_run: OfflineRun, rule: str, case: str, mutate: Mutation, expected: str
) -> None:
    resources = [stack_resource(r) for r in bootstrap_run.resources]
    context = PolicyContext(project=BOOTSTRAP_PROJECT)
    assert _violations(rule, resources, context) == []  # the committed bootstrap complies
    messages = [message for _, message in _violations(rule, mutate(resources), context)]
    assert any(expected in message for message in messages), (case, messages)


def test_every_stack_rule_has_a_failing_case() -> None:
    assert {rule for rule, *_ in OLD_FORMS + BOOTSTRAP_OLD_FORMS} == set(RULES)


def test_the_storage_role_is_checked_by_its_definition(uat: OfflineRun) -> None:
    """A credential after some other role assignment (say, the deployer's) still races."""
    resources = _resources(uat)
    wrong = [
        _props(
            r, roleDefinitionId=r.props["roleDefinitionId"].replace(STORAGE_BLOB_DATA_CONTRIBUTOR, "0" * 36)
        )
        if r.type == "azure-native:authorization:RoleAssignment"
        else r
        for r in resources
    ]
    assert _violations("uc-storage-after-role", wrong)


@pytest.mark.parametrize("environment", list(Environment))
def test_plans_after_training_break_no_mandatory_rule(
    trained_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """tests/policy/test_policy_plans.py covers the brand-new plans; these add endpoint and monitor."""
    run = trained_plans[environment]
    repository = "example-org/mlops-platform"  # the committed stack files' github.owner/repository
    blocking = mandatory(evaluate(run.resources, stack=environment, github_repository=repository))
    assert blocking == [], "\n".join(str(v) for v in blocking)
