"""Every `pulumi up` in CI ends while the login's tokens still work (defect: a 90-minute endpoint
timeout in a job whose credentials live 60-90 minutes and are never renewed; docs/ci.md)."""

from __future__ import annotations

from workflow_files import all_jobs, load_workflows

from infra.model_serving import CI_TOKEN_MINUTES, ENDPOINT_TIMEOUTS

PULUMI_ACTION = "pulumi/actions"


def _minutes(timeout: str) -> float:
    return float(timeout.removesuffix("m"))


def test_every_pulumi_up_step_stops_inside_the_token_lifetime() -> None:
    ups = [
        step
        for job in all_jobs(load_workflows())
        for step in job.steps
        if step.runs(PULUMI_ACTION) and (step.body.get("with") or {}).get("command") == "up"
    ]
    assert ups, "no workflow runs pulumi up"
    for step in ups:
        minutes = step.body.get("timeout-minutes")
        assert isinstance(minutes, int), f"{step.workflow}: the pulumi up step sets no timeout-minutes"
        assert minutes < CI_TOKEN_MINUTES, (step.workflow, minutes)
        # ...and leaves room for the slowest single operation: creating the serving endpoint.
        assert minutes > _minutes(str(ENDPOINT_TIMEOUTS.create)), (step.workflow, minutes)
