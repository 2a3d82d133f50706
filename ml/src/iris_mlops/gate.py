"""The approval gate: per-environment thresholds as data, and a pure decision function."""

from __future__ import annotations

from dataclasses import dataclass

from iris_mlops.params import Environment, GateMode, TaskParameters

APPROVAL_TAG = "approval"
APPROVED = "approved"
# The gate's status when everything but the human approval passed: a waiting state, not a failure.
AWAITING_APPROVAL = "awaiting_approval"
HUMAN_APPROVAL_CHECK = "human_approval"
# Scores are compared with this slack so that 0.95 >= 0.9 + 0.05 holds despite float rounding.
SCORE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class GatePolicy:
    mode: GateMode
    margin: float  # challenger must score at least champion + margin
    min_score: float  # floor on the primary metric, which also guards the very first champion
    require_approval: bool  # a human sets tag approval=approved on the model version


GATE_POLICIES: dict[Environment, GatePolicy] = {
    Environment.SANDBOX: GatePolicy(GateMode.ENFORCED, margin=0.0, min_score=0.8, require_approval=False),
    Environment.DEV: GatePolicy(GateMode.ENFORCED, margin=0.0, min_score=0.8, require_approval=False),
    Environment.UAT: GatePolicy(GateMode.ENFORCED, margin=0.0, min_score=0.85, require_approval=True),
    Environment.PROD: GatePolicy(GateMode.ENFORCED, margin=0.01, min_score=0.9, require_approval=True),
}


def effective_policy(params: TaskParameters) -> GatePolicy:
    """The environment's policy with the task's explicit parameters on top."""
    base = GATE_POLICIES[params.env]
    return GatePolicy(
        mode=params.gate_mode if params.gate_mode is not None else base.mode,
        margin=params.margin if params.margin is not None else base.margin,
        min_score=base.min_score,
        require_approval=(
            params.require_approval if params.require_approval is not None else base.require_approval
        ),
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


def _floor(policy: GatePolicy, gate: GateInputs) -> Check:
    ok = gate.challenger_score + SCORE_TOLERANCE >= policy.min_score
    detail = f"{gate.metric} {gate.challenger_score:.4f} vs minimum {policy.min_score:.4f}"
    return Check("min_score", ok, detail)


def _beats_champion(policy: GatePolicy, gate: GateInputs) -> Check:
    if gate.champion_score is None:
        return Check("beats_champion", True, "no champion yet")
    needed = gate.champion_score + policy.margin
    ok = gate.challenger_score + SCORE_TOLERANCE >= needed
    detail = (
        f"challenger v{gate.challenger_version} {gate.metric} {gate.challenger_score:.4f} vs "
        f"champion v{gate.champion_version} {gate.champion_score:.4f} + margin {policy.margin:.4f}"
    )
    return Check("beats_champion", ok, detail)


def _human_approval(policy: GatePolicy, gate: GateInputs) -> Check:
    if not policy.require_approval:
        return Check(HUMAN_APPROVAL_CHECK, True, "not required in this environment")
    ok = gate.approval == APPROVED
    detail = f"tag {APPROVAL_TAG}={gate.approval!r} on v{gate.challenger_version}; needs {APPROVED!r}"
    return Check(HUMAN_APPROVAL_CHECK, ok, detail)


CHECKS = (_floor, _beats_champion, _human_approval)


def decide(policy: GatePolicy, gate: GateInputs) -> GateDecision:
    if policy.mode is GateMode.DISABLED:
        return GateDecision(policy.mode, (Check("disabled", True, "gate disabled: no checks run"),))
    return GateDecision(policy.mode, tuple(check(policy, gate) for check in CHECKS))
