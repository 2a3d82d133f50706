"""Rules of the approval gate (pure decisions; the step that applies them is tested elsewhere)."""

from __future__ import annotations

import pytest
from iris_mlops.gate import AWAITING_APPROVAL, GATE_POLICIES, GateInputs, GatePolicy, decide, effective_policy
from iris_mlops.params import Environment, GateMode, TaskParameters


def inputs(challenger: float, champion: float | None = 0.9, approval: str | None = None) -> GateInputs:
    return GateInputs(
        metric="f1_macro",
        challenger_version="2",
        challenger_score=challenger,
        champion_version="1" if champion is not None else None,
        champion_score=champion,
        approval=approval,
    )


def policy(mode: GateMode = GateMode.ENFORCED, margin: float = 0.0, approval: bool = False) -> GatePolicy:
    return GatePolicy(mode=mode, margin=margin, min_score=0.5, require_approval=approval)


def test_enforced_gate_blocks_a_worse_challenger() -> None:
    decision = decide(policy(), inputs(challenger=0.3, champion=0.9))
    assert decision.blocks
    assert decision.status == "failed"


def test_challenger_must_beat_champion_by_the_margin() -> None:
    assert decide(policy(margin=0.05), inputs(challenger=0.93, champion=0.9)).blocks
    assert not decide(policy(margin=0.05), inputs(challenger=0.95, champion=0.9)).blocks


def test_equal_challenger_passes_with_zero_margin() -> None:
    assert decide(policy(), inputs(challenger=0.9, champion=0.9)).status == "passed"


def test_first_champion_still_needs_the_minimum_score() -> None:
    assert decide(policy(), inputs(challenger=0.4, champion=None)).blocks
    assert not decide(policy(), inputs(challenger=0.8, champion=None)).blocks


def test_dry_run_reports_failures_without_blocking() -> None:
    decision = decide(policy(mode=GateMode.DRY_RUN), inputs(challenger=0.3))
    assert not decision.blocks
    assert decision.status == "bypassed"
    assert "FAIL" in decision.summary()


def test_disabled_gate_runs_no_checks() -> None:
    decision = decide(policy(mode=GateMode.DISABLED, approval=True), inputs(challenger=0.0))
    assert decision.checks_passed
    assert [check.name for check in decision.checks] == ["disabled"]


def test_required_approval_needs_the_approved_tag_and_waits_for_it() -> None:
    """A missing approval is a waiting state: it neither blocks (fails the job) nor passes."""
    for approval in (None, "pending"):
        waiting = decide(policy(approval=True), inputs(0.95, approval=approval))
        assert (waiting.blocks, waiting.checks_passed, waiting.status) == (False, False, AWAITING_APPROVAL)
    approved = decide(policy(approval=True), inputs(0.95, approval="approved"))
    assert (approved.blocks, approved.status) == (False, "passed")


def test_a_failed_score_check_blocks_even_while_approval_is_awaited() -> None:
    decision = decide(policy(approval=True), inputs(0.3, approval=None))
    assert decision.blocks
    assert decision.status == "failed"


@pytest.mark.parametrize("env", list(Environment))
def test_uat_and_prod_require_human_approval_by_default(env: Environment) -> None:
    assert GATE_POLICIES[env].require_approval == (env in {Environment.UAT, Environment.PROD})


@pytest.mark.parametrize("env", list(Environment))
def test_every_environment_enforces_the_gate_by_default(env: Environment) -> None:
    assert GATE_POLICIES[env].mode is GateMode.ENFORCED


def test_explicit_parameters_override_the_environment_policy() -> None:
    params = TaskParameters(
        env=Environment.PROD, margin=0.2, require_approval=False, gate_mode=GateMode.DRY_RUN
    )
    effective = effective_policy(params)
    assert (effective.margin, effective.require_approval, effective.mode) == (0.2, False, GateMode.DRY_RUN)
    assert effective.min_score == GATE_POLICIES[Environment.PROD].min_score
