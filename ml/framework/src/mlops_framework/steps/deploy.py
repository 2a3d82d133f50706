"""Deploy: serve the version approve let through in this job run, then record the change, then
move `champion`.

Which version: the one named by approve's verdict in the same job run (decisions.py), not the
`challenger` alias, which a training running meanwhile may have moved. A verdict judged against a
champion that has since changed is stale: nothing is deployed, and the next training judges again.

The order is the point. The endpoint is updated and waited for first; only when it serves the
version is the deployment recorded and the alias moved, so a failed or slow update leaves
`champion`, the deployments table and what batch inference scores exactly as they were. The alias
moves last: a retry after a failure in between finds the old champion and records the same
previous version again (the record is merged on endpoint and version), and a retry after success
finds the version already champion and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import mlflow
import pandas as pd

from ..context import TaskContext
from ..decisions import STALE, UNCHANGED, Verdict, champion_param, job_verdict
from ..errors import GateFailedError, MissingStateError, StateError
from ..gate import AWAITING_APPROVAL
from ..vocabulary import CHALLENGER, CHAMPION

DEPLOYABLE_STATUSES = frozenset({"passed", "bypassed"})
DEPLOYMENT_KEYS = ("endpoint_name", "model_version")
# How long deploy waits for the endpoint: an update in progress, then its own. The deploy task's
# timeout in job_graph.toml leaves 10 minutes on top for the rest of the task
# (tests/ml/test_ml_job_graph.py). No token lifetime bounds the wait: inside a job the
# databricks-sdk asks the runtime for the current token on every request (credentials_provider.py,
# runtime-native auth; _base_client.py calls Config.authenticate per request), which
# tests/ml/test_ml_sdk_auth.py checks for the SDK's requests.
SERVING_WAIT = timedelta(minutes=40)


def _verdict(ctx: TaskContext) -> Verdict:
    challenger = ctx.alias_version(CHALLENGER)
    verdict = job_verdict(ctx, challenger.version if challenger is not None else None)
    if verdict is None:
        job_run = ctx.params.job_run_id
        scope = f"in job run {job_run}" if job_run is not None else "on the current challenger"
        raise MissingStateError(f"{ctx.model_name} has no gate verdict {scope}: run approve first")
    return verdict


def deploy(ctx: TaskContext) -> str:
    verdict = _verdict(ctx)
    version, status = verdict.challenger_version, verdict.status
    if status == AWAITING_APPROVAL:
        return (
            f"challenger v{version} awaits approval: nothing deployed "
            "(an approver tags it, then runs the release job; docs/ml.md, approval)"
        )
    if status in (UNCHANGED, STALE):
        return f"nothing to deploy: approve found challenger v{version} {status} (run {verdict.run_id})"
    if status not in DEPLOYABLE_STATUSES:
        raise GateFailedError(
            f"challenger v{version} has gate status {status!r}; deploy needs one of "
            f"{sorted(DEPLOYABLE_STATUSES)}: run approve first"
        )
    previous = ctx.alias_version(CHAMPION)
    was = champion_param(previous.version if previous is not None else None)
    if was not in (verdict.champion_version, version):
        return (
            f"nothing deployed: approve let v{version} through against champion {verdict.champion_version}, "
            f"but the champion is now {was} (another deploy); the next training judges v{version} again"
        )
    endpoint = ctx.params.resolved_endpoint_name
    with ctx.run():
        mlflow.log_params(
            {"endpoint_name": endpoint, "champion_version": version, "approve_run": verdict.run_id}
        )
        serving = ctx.backend.publish_endpoint(endpoint, ctx.model_name, version, SERVING_WAIT)
        if was == version:
            return f"{CHAMPION} is already v{version}; {serving}"
        record = pd.DataFrame(
            {
                "endpoint_name": [endpoint],
                "model_name": [ctx.model_name],
                "model_version": [version],
                "previous_version": [previous.version if previous is not None else None],
                "deployed_at": [pd.Timestamp(ctx.now())],
            }
        ).astype({"previous_version": "string"})
        ctx.backend.merge_rows(
            ctx.table(ctx.project.tables.deployments), record, DEPLOYMENT_KEYS, ctx.provenance
        )
        now = ctx.alias_version(CHAMPION)
        if (now.version if now is not None else None) != (previous.version if previous is not None else None):
            raise StateError(
                f"another deploy moved {CHAMPION} to v{now.version if now else '?'} while this one made "
                f"{endpoint} serve v{version}: run the release job again to settle which one serves"
            )
        ctx.client.set_registered_model_alias(ctx.model_name, CHAMPION, version)
    return f"{CHAMPION}: {'none' if previous is None else 'v' + previous.version} -> v{version}; {serving}"
