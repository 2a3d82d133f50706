"""Deploy: serve the approved challenger, then record the change, then move `champion`.

The order is the point. The endpoint is updated and waited for first; only when it serves the
challenger is the deployment recorded and the alias moved, so a failed or slow update leaves
`champion`, the deployments table and what batch inference scores exactly as they were. The alias
moves last: a retry after a failure in between finds the old champion and records the same
previous version again (the record is merged on endpoint and version), and a retry after success
finds the challenger already champion and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import mlflow
import pandas as pd

from iris_mlops.context import TaskContext
from iris_mlops.errors import GateFailedError
from iris_mlops.gate import AWAITING_APPROVAL
from iris_mlops.steps.approve import GATE_STATUS_TAG
from iris_mlops.steps.evaluate import require_challenger
from iris_mlops.vocabulary import CHAMPION

DEPLOYABLE_STATUSES = frozenset({"passed", "bypassed"})
DEPLOYMENT_KEYS = ("endpoint_name", "model_version")
# How long deploy waits for the endpoint: an update in progress, then its own. The deploy task's
# timeout in job_graph.toml leaves 10 minutes on top for the rest of the task and stays within
# the hour a Databricks token lives (docs/security.md); tests/ml/test_ml_job_graph.py checks both.
SERVING_WAIT = timedelta(minutes=40)


def deploy(ctx: TaskContext) -> str:
    challenger = require_challenger(ctx)
    status = challenger.tags.get(GATE_STATUS_TAG)
    if status == AWAITING_APPROVAL:
        return (
            f"challenger v{challenger.version} awaits approval: nothing deployed "
            "(an approver tags it, then runs the release job; docs/ml.md, approval)"
        )
    if status not in DEPLOYABLE_STATUSES:
        raise GateFailedError(
            f"challenger v{challenger.version} has gate status {status!r}; deploy needs one of "
            f"{sorted(DEPLOYABLE_STATUSES)}: run approve first"
        )
    previous = ctx.alias_version(CHAMPION)
    endpoint = ctx.params.resolved_endpoint_name
    with ctx.run():
        mlflow.log_params({"endpoint_name": endpoint, "champion_version": challenger.version})
        serving = ctx.backend.publish_endpoint(endpoint, ctx.model_name, challenger.version, SERVING_WAIT)
        if previous is not None and previous.version == challenger.version:
            return f"{CHAMPION} is already v{challenger.version}; {serving}"
        record = pd.DataFrame(
            {
                "endpoint_name": [endpoint],
                "model_name": [ctx.model_name],
                "model_version": [str(challenger.version)],
                "previous_version": [previous.version if previous is not None else None],
                "deployed_at": [pd.Timestamp(datetime.now(UTC))],
            }
        ).astype({"previous_version": "string"})
        ctx.backend.merge_rows(
            ctx.table(ctx.project.tables.deployments), record, DEPLOYMENT_KEYS, ctx.provenance
        )
        ctx.client.set_registered_model_alias(ctx.model_name, CHAMPION, challenger.version)
    was = f"v{previous.version}" if previous is not None else "none"
    return f"{CHAMPION}: {was} -> v{challenger.version}; {serving}"
