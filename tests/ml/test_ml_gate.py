"""Rules of the approval gate (pure decisions; the step that applies them is tested elsewhere)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from iris_mlops.project import FLOORS
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.errors import ParameterError
from mlops_framework.gate import AWAITING_APPROVAL, GateInputs, GatePolicy, decide, effective_policy
from mlops_framework.params import Environment, GateMode, TaskParameters
from mlops_framework.vocabulary import (
    DECISION_DEFAULTS,
    METRIC_FACTS,
    Direction,
    PrimaryMetric,
    ProblemKind,
    metrics_of,
)


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
    return GatePolicy(mode=mode, margin=margin, require_approval=approval, bound=0.5)


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
def test_the_environment_decides_nothing_in_the_wheel_only_the_parameters_do(env: Environment) -> None:
    """No per-environment table: without parameters every environment's gate is the same enforced
    one (what a local run gets); on Databricks the platform passes its environment's margin and
    approval (tests/stacks/test_access_invariants.py checks the planned jobs carry them)."""
    effective = effective_policy(TaskParameters(env=env), IRIS)
    assert (effective.mode, effective.margin, effective.require_approval) == (
        GateMode.ENFORCED,
        DECISION_DEFAULTS.margin,
        DECISION_DEFAULTS.require_approval,
    )
    passed = effective_policy(TaskParameters(env=env, margin=0.03, require_approval=True), IRIS)
    assert (passed.margin, passed.require_approval) == (0.03, True)


def test_explicit_parameters_make_the_policy() -> None:
    params = TaskParameters(
        env=Environment.PROD, margin=0.2, require_approval=False, gate_mode=GateMode.DRY_RUN
    )
    effective = effective_policy(params, IRIS)
    assert (effective.margin, effective.require_approval, effective.mode) == (0.2, False, GateMode.DRY_RUN)
    assert (effective.bound, effective.direction) == (FLOORS[Environment.PROD], Direction.HIGHER)


# ------------------------------------------------------------------ the metric's direction


def error_inputs(challenger: float, champion: float | None) -> GateInputs:
    return GateInputs(
        metric="rmse",
        challenger_version="2",
        challenger_score=challenger,
        champion_version="1" if champion is not None else None,
        champion_score=champion,
        approval=None,
    )


def error_policy(margin: float = 0.0, ceiling: float = 60.0) -> GatePolicy:
    return GatePolicy(
        GateMode.ENFORCED, margin, require_approval=False, bound=ceiling, direction=Direction.LOWER
    )


@pytest.mark.parametrize("margin", [0.0, 0.01, 1.0])
@pytest.mark.parametrize("worse_by", [1e-6, 0.5, 25.0])
@pytest.mark.parametrize("champion", [20.0, 45.5, 59.99])
def test_a_challenger_with_a_higher_error_is_never_promoted(
    champion: float, worse_by: float, margin: float
) -> None:
    decision = decide(error_policy(margin), error_inputs(champion + worse_by, champion))
    assert (decision.blocks, decision.status) == (True, "failed")
    [beats] = [check for check in decision.checks if check.name == "beats_champion"]
    assert not beats.passed
    assert "lower is better" in beats.detail


@pytest.mark.parametrize("better_by", [0.0, 0.5, 25.0])
def test_a_challenger_with_a_lower_error_is_promoted(better_by: float) -> None:
    decision = decide(error_policy(), error_inputs(50.0 - better_by, 50.0))
    assert (decision.blocks, decision.status) == (False, "passed")


def test_a_lower_error_must_beat_the_champion_by_the_margin() -> None:
    assert decide(error_policy(margin=1.0), error_inputs(49.5, 50.0)).blocks
    assert not decide(error_policy(margin=1.0), error_inputs(49.0, 50.0)).blocks


def test_the_ceiling_guards_the_first_regression_champion() -> None:
    too_high = decide(error_policy(ceiling=60.0), error_inputs(60.5, None))
    assert too_high.blocks
    assert [check.name for check in too_high.checks if not check.passed] == ["max_score"]
    assert not decide(error_policy(ceiling=60.0), error_inputs(59.5, None)).blocks


def test_a_higher_score_still_wins_where_higher_is_better() -> None:
    """The classification direction is unchanged by the error metrics."""
    assert decide(policy(), inputs(challenger=0.89, champion=0.9)).blocks
    assert not decide(policy(), inputs(challenger=0.91, champion=0.9)).blocks


def test_the_effective_policy_takes_the_direction_of_the_metric_and_the_projects_bound() -> None:
    regression = replace(
        IRIS,
        name="synthetic",
        kind=ProblemKind.REGRESSION,
        primary_metric=PrimaryMetric.MAE,
        bounds={PrimaryMetric.MAE: dict.fromkeys(Environment, 7.0)},
    )
    params = TaskParameters(env=Environment.UAT, primary_metric=PrimaryMetric.MAE)
    effective = effective_policy(params, regression)
    assert (effective.direction, effective.bound) == (Direction.LOWER, 7.0)


def test_a_project_is_gated_only_on_metrics_of_its_kind() -> None:
    with pytest.raises(ParameterError, match=r"'rmse' is not allowed for project iris .*accuracy, f1_macro"):
        effective_policy(TaskParameters(primary_metric=PrimaryMetric.RMSE), IRIS)


def test_every_metric_has_a_kind_and_a_direction() -> None:
    assert set(METRIC_FACTS) == set(PrimaryMetric)
    assert {m for m, facts in METRIC_FACTS.items() if facts.direction is Direction.LOWER} == {
        PrimaryMetric.RMSE,
        PrimaryMetric.MAE,
    }
    assert set(metrics_of(ProblemKind.REGRESSION)) == {PrimaryMetric.RMSE, PrimaryMetric.MAE}
