"""Deploy: move `champion` to the approved challenger, update serving, record the change."""

from __future__ import annotations

from datetime import UTC, datetime

import mlflow
import pandas as pd

from iris_mlops.context import CHAMPION, TaskContext
from iris_mlops.data import DEPLOYMENTS_TABLE
from iris_mlops.errors import GateFailedError
from iris_mlops.steps.approve import GATE_STATUS_TAG
from iris_mlops.steps.evaluate import require_challenger

DEPLOYABLE_STATUSES = frozenset({"passed", "bypassed"})
DEPLOYMENT_KEYS = ("endpoint_name", "model_version")


def deploy(ctx: TaskContext) -> str:
    challenger = require_challenger(ctx)
    status = challenger.tags.get(GATE_STATUS_TAG)
    if status not in DEPLOYABLE_STATUSES:
        raise GateFailedError(
            f"challenger v{challenger.version} has gate status {status!r}; deploy needs one of "
            f"{sorted(DEPLOYABLE_STATUSES)}: run approve first"
        )
    previous = ctx.alias_version(CHAMPION)
    endpoint = ctx.params.resolved_endpoint_name
    with ctx.run():
        ctx.client.set_registered_model_alias(ctx.model_name, CHAMPION, challenger.version)
        serving = ctx.backend.publish_endpoint(endpoint, ctx.model_name, challenger.version)
        record = pd.DataFrame(
            {
                "endpoint_name": [endpoint],
                "model_name": [ctx.model_name],
                "model_version": [str(challenger.version)],
                "previous_version": [previous.version if previous is not None else None],
                "deployed_at": [pd.Timestamp(datetime.now(UTC))],
            }
        ).astype({"previous_version": "string"})
        ctx.backend.merge_rows(ctx.table(DEPLOYMENTS_TABLE), record, DEPLOYMENT_KEYS, ctx.provenance)
        mlflow.log_params({"endpoint_name": endpoint, "champion_version": challenger.version})
    was = f"v{previous.version}" if previous is not None else "none"
    return f"{CHAMPION}: {was} -> v{challenger.version}; {serving}"
