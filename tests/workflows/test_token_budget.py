"""Every `pulumi up` in CI ends while the login's tokens still work (defect: a 90-minute endpoint
timeout in a job whose credentials live 60-90 minutes and are never renewed; docs/ci.md)."""

from __future__ import annotations

import re

from workflow_files import all_jobs, load_workflows

from infra.model_serving import CI_TOKEN_MINUTES, ENDPOINT_TIMEOUTS


def _minutes(timeout: str) -> float:
    return float(timeout.removesuffix("m"))


def _interrupt(run: str) -> tuple[float, float]:
    """The minutes after which ``timeout`` interrupts `pulumi up`, and how long it then waits."""
    match = re.search(r"timeout --foreground --signal=INT --kill-after=(\d+)m (\d+)m pulumi up ", run)
    assert match, "pulumi up runs under `timeout`, which interrupts it gracefully first"
    return float(match[2]), float(match[1])


def test_every_pulumi_up_step_stops_inside_the_token_lifetime() -> None:
    ups = [
        step
        for job in all_jobs(load_workflows())
        for step in job.steps
        if "pulumi up " in str(step.body.get("run", ""))
    ]
    assert ups, "no workflow runs pulumi up"
    for step in ups:
        minutes = step.body.get("timeout-minutes")
        assert isinstance(minutes, int), f"{step.workflow}: the pulumi up step sets no timeout-minutes"
        assert minutes < CI_TOKEN_MINUTES, (step.workflow, minutes)
        # ...and leaves room for the slowest single operation: creating the serving endpoint.
        assert minutes > _minutes(str(ENDPOINT_TIMEOUTS.create)), (step.workflow, minutes)
        # The graceful interrupt, and the kill after it, come before the runner's own timeout,
        # whose SIGINT-then-SIGTERM the CLI takes as "terminate now" (docs/ci.md).
        interrupt, grace = _interrupt(str(step.body["run"]))
        assert interrupt + grace < minutes, (step.workflow, interrupt, grace, minutes)
