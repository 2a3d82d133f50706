"""Deploy's side of the serving endpoint: point the champion entity at a version and wait.

The endpoint belongs to Pulumi (`infra/model_serving.py`): it creates it and owns its name, the served
entity's name and model, workload size, scale-to-zero and the AI gateway. Deploy owns one field
only, the served entity's `entity_version`; it never creates the endpoint.

databricks-sdk (databricks/sdk/service/serving.py): `update_config` returns a `Wait` that polls
`get` until `state.config_update` is `NOT_UPDATING`, raising `OperationFailed` on `UPDATE_FAILED`
or `UPDATE_CANCELED`; "an endpoint that already has an update in progress can not be updated until
the current update completes or fails" (a second PUT gets a conflict).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from databricks.sdk.errors import NotFound, OperationFailed, ResourceConflict
from databricks.sdk.service.serving import (
    EndpointStateConfigUpdate,
    ServedEntityInput,
    ServedEntityOutput,
    ServingEndpointDetailed,
)

from ..errors import ServingError
from ..logs import LOGGER_NAME
from ..vocabulary import SERVED_ENTITY_NAME

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

# What an update sends back of a served entity besides the version (the PUT replaces the whole
# entity): an explicit allow-list, not whatever the GET reports. The GET also reports fields the
# API refuses together: min/max_provisioned_concurrency "Do not use if workload_size is specified"
# (databricks-sdk databricks/sdk/service/serving.py, ServedEntityInput), and the endpoint reports
# the concurrency range its workload size implies. These are the fields Pulumi sets
# (infra/model_serving.py: name, entity_name, workload_size, scale_to_zero_enabled) and the ones a
# person may have set on the entity that an update must not drop.
_CARRIED_FIELDS = (
    "entity_name",
    "environment_vars",
    "instance_profile_arn",
    "name",
    "scale_to_zero_enabled",
    "workload_size",
    "workload_type",
)

logger = logging.getLogger(f"{LOGGER_NAME}.databricks")


def served_entity_with_version(current: ServedEntityOutput, model_version: str) -> ServedEntityInput:
    """The served entity exactly as the endpoint reports it, serving `model_version` instead."""
    carried = {name: getattr(current, name) for name in _CARRIED_FIELDS}
    return ServedEntityInput(**carried, entity_version=str(model_version))


def champion_entity(endpoint: ServingEndpointDetailed, model_name: str) -> ServedEntityOutput:
    name = endpoint.name
    entities = list(endpoint.config.served_entities or []) if endpoint.config else []
    by_name = {entity.name: entity for entity in entities}
    champion = by_name.get(SERVED_ENTITY_NAME)
    if champion is None:
        pending = " (its configuration is still being applied; rerun deploy when it is ready)"
        raise ServingError(
            f"serving endpoint {name} has no served entity {SERVED_ENTITY_NAME!r} (found: "
            f"{sorted(str(n) for n in by_name) or 'none'}){pending if endpoint.pending_config else ''}; "
            "the endpoint is Pulumi's (infra/model_serving.py): fix it with `pulumi up`, not by hand"
        )
    if champion.entity_name != model_name:
        raise ServingError(
            f"serving endpoint {name} serves model {champion.entity_name}, not {model_name}: "
            "check the job's catalog/schema/model_name against the stack's settings"
        )
    return champion


def served_entities_with_version(
    endpoint: ServingEndpointDetailed, model_name: str, model_version: str
) -> list[ServedEntityInput] | None:
    """Every served entity of the endpoint as it is, the champion entity at `model_version`;
    None when the champion entity already serves that version (nothing to update)."""
    if str(champion_entity(endpoint, model_name).entity_version) == str(model_version):
        return None
    entities = list(endpoint.config.served_entities or []) if endpoint.config else []
    return [
        served_entity_with_version(entity, model_version)
        if entity.name == SERVED_ENTITY_NAME
        else served_entity_with_version(entity, str(entity.entity_version))
        for entity in entities
    ]


def _settled(workspace: WorkspaceClient, name: str, timeout: timedelta) -> ServingEndpointDetailed:
    """The endpoint once no update is in progress (one that failed before is settled too)."""
    try:
        return workspace.serving_endpoints.wait_get_serving_endpoint_not_updating(name, timeout=timeout)
    except OperationFailed:
        # The last update failed or was cancelled: the endpoint serves its previous config and
        # takes a new update.
        return workspace.serving_endpoints.get(name)


def publish(
    workspace: WorkspaceClient, endpoint_name: str, model_name: str, model_version: str, timeout: timedelta
) -> str:
    """Point the endpoint's champion entity at `model_version`, wait until it serves it.

    Raises ServingError unless the endpoint ends up serving `model_version`: the caller moves the
    champion alias and writes the deployment record only after this returns. A missing endpoint
    is not an error: `pulumi up` creates it once a version exists (docs/databricks.md).
    """
    started = time.monotonic()
    try:
        endpoint = _settled(workspace, endpoint_name, timeout)
    except NotFound:
        message = (
            f"serving endpoint {endpoint_name} does not exist yet, so nothing serves "
            f"{model_name} v{model_version} in real time; deploy never creates it: `pulumi up` "
            "does once the stack sets databricks.createServingEndpoint: true (docs/databricks.md, "
            "first deploy of an environment)"
        )
        logger.warning(message)
        return message
    except TimeoutError as error:
        raise ServingError(
            f"serving endpoint {endpoint_name} was still applying another update after {timeout}: "
            f"nothing changed; rerun deploy ({error})"
        ) from error
    entities = served_entities_with_version(endpoint, model_name, model_version)
    if entities is None:
        return f"serving endpoint {endpoint_name} already serves {model_name} v{model_version}"
    was = champion_entity(endpoint, model_name).entity_version
    remaining = max(timedelta(seconds=1), timeout - timedelta(seconds=time.monotonic() - started))
    try:
        updated = workspace.serving_endpoints.update_config(
            name=endpoint_name,
            served_entities=entities,
            traffic_config=endpoint.config.traffic_config if endpoint.config else None,
        ).result(timeout=remaining)
    except ResourceConflict as error:
        raise ServingError(
            f"serving endpoint {endpoint_name} started another update meanwhile: nothing changed; "
            f"rerun deploy ({error})"
        ) from error
    except OperationFailed as error:
        raise ServingError(
            f"serving endpoint {endpoint_name} could not serve {model_name} v{model_version} "
            f"({error}); it still serves v{was}, and champion and deployments are unchanged"
        ) from error
    except TimeoutError as error:
        raise ServingError(
            f"serving endpoint {endpoint_name} did not finish serving v{model_version} within "
            f"{remaining}; champion and deployments are unchanged: rerun deploy, it waits ({error})"
        ) from error
    state = updated.state.config_update if updated.state else None
    serves = str(champion_entity(updated, model_name).entity_version)
    if state is not EndpointStateConfigUpdate.NOT_UPDATING or serves != str(model_version):
        raise ServingError(
            f"serving endpoint {endpoint_name} reports config_update={state} serving v{serves} "
            f"after the update to v{model_version}: champion and deployments are unchanged"
        )
    return f"serving endpoint {endpoint_name}: {SERVED_ENTITY_NAME} v{was} -> v{model_version}"
