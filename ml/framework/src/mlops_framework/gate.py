"""The approval gate: its policy from the task's parameters, and a pure decision function.

The task's parameters set the mode, the margin and whether a human approves: on Databricks the
platform passes its environment's values (stacks/defaults.py), so the wheel keeps no table per
environment. The project decides the bound on its metric (ProjectSpec.bounds); the metric decides
the direction (vocabulary.METRIC_FACTS): a challenger with a higher error is worse, one with a
higher accuracy better.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .params import GateMode, TaskParameters
from .vocabulary import Direction, direction_of

if TYPE_CHECKING:
    from .project import ProjectSpec

APPROVAL_TAG = "approval"
APPROVED = "approved"
# The gate's status when everything but the human approval passed: a waiting state, not a failure.
AWAITING_APPROVAL = "awaiting_approval"
HUMAN_APPROVAL_CHECK = "human_approval"
# Scores are compared with this slack so that 0.95 >= 0.9 + 0.05 holds despite float rounding.
SCORE_TOLERANCE = 1e-9
# The bound check's name by direction: a floor on a score, a ceiling on an error.
BOUND_CHECK = {Direction.HIGHER: "min_score", Direction.LOWER: "max_score"}


@dataclass(frozen=True)
class GatePolicy:
    mode: GateMode
    margin: float  # challenger must beat champion by this much, in the metric's direction
    require_approval: bool  # a human sets tag approval=approved on the model version
    # The project's bound on the primary metric (a floor, or a ceiling when lower is better), which
    # also guards the very first champion; None: no bound.
    bound: float | None = None
    direction: Direction = Direction.HIGHER


def effective_policy(params: TaskParameters, project: ProjectSpec) -> GatePolicy:
    """The task's mode, margin and approval, the project's bound and the metric's direction."""
    return GatePolicy(
        mode=params.gate_mode,
        margin=params.margin,
        require_approval=params.require_approval,
        bound=project.bound(params.primary_metric, params.env),
        direction=direction_of(params.primary_metric),
    )


@dataclass(frozen=True)
class GateInputs:
    metric: str
    challenger_version: str
    challenger_score: float
    champion_version: str | None
    champion_score: float | None
    approval: str | None  # value of the challenger version's approval tag


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class GateDecision:
    mode: GateMode
    checks: tuple[Check, ...]

    @property
    def checks_passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def awaiting_approval(self) -> bool:
        """Enforced, and the human approval is the only check still open."""
        failed = [check.name for check in self.checks if not check.passed]
        return self.mode is GateMode.ENFORCED and failed == [HUMAN_APPROVAL_CHECK]

    @property
    def blocks(self) -> bool:
        """Only an enforced gate stops the job, and a missing approval only waits."""
        return self.mode is GateMode.ENFORCED and not self.checks_passed and not self.awaiting_approval

    @property
    def status(self) -> str:
        """Recorded on the model version; deploy accepts `passed` and `bypassed`."""
        if self.checks_passed:
            return "passed"
        if self.awaiting_approval:
            return AWAITING_APPROVAL
        return "failed" if self.blocks else "bypassed"

    def summary(self) -> str:
        lines = [f"gate ({self.mode}): {self.status}"]
        lines += [f"  [{'ok' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in self.checks]
        return "\n".join(lines)


def _bound(policy: GatePolicy, gate: GateInputs) -> Check:
    name = BOUND_CHECK[policy.direction]
    if policy.bound is None:
        return Check(name, True, f"no bound on {gate.metric}")
    ok = policy.direction.better(gate.challenger_score, policy.bound, SCORE_TOLERANCE)
    limit = "minimum" if policy.direction is Direction.HIGHER else "maximum"
    detail = f"{gate.metric} {gate.challenger_score:.4f} vs {limit} {policy.bound:.4f}"
    return Check(name, ok, detail)


def _beats_champion(policy: GatePolicy, gate: GateInputs) -> Check:
    if gate.champion_score is None:
        return Check("beats_champion", True, "no champion yet")
    needed = policy.direction.shifted(gate.champion_score, policy.margin)
    ok = policy.direction.better(gate.challenger_score, needed, SCORE_TOLERANCE)
    sign = "+" if policy.direction is Direction.HIGHER else "-"
    detail = (
        f"challenger v{gate.challenger_version} {gate.metric} {gate.challenger_score:.4f} vs "
        f"champion v{gate.champion_version} {gate.champion_score:.4f} {sign} margin {policy.margin:.4f} "
        f"({policy.direction} is better)"
    )
    return Check("beats_champion", ok, detail)


def _human_approval(policy: GatePolicy, gate: GateInputs) -> Check:
    if not policy.require_approval:
        return Check(HUMAN_APPROVAL_CHECK, True, "not required in this environment")
    ok = gate.approval == APPROVED
    detail = f"tag {APPROVAL_TAG}={gate.approval!r} on v{gate.challenger_version}; needs {APPROVED!r}"
    return Check(HUMAN_APPROVAL_CHECK, ok, detail)


CHECKS = (_bound, _beats_champion, _human_approval)


def decide(policy: GatePolicy, gate: GateInputs) -> GateDecision:
    if policy.mode is GateMode.DISABLED:
        return GateDecision(policy.mode, (Check("disabled", True, "gate disabled: no checks run"),))
    return GateDecision(policy.mode, tuple(check(policy, gate) for check in CHECKS))
