"""Model serving: prod never scales to zero (cold starts); elsewhere small and scaled to zero."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .context import PolicyContext
from .props import get_path, mappings

MODEL_SERVING = "databricks:index/modelServing:ModelServing"
# Both shapes the provider accepts: servedEntities (current) and servedModels (legacy).
SERVED_LISTS: tuple[str, ...] = ("servedEntities", "servedModels")
COSTLY_WORKLOAD_SIZES: frozenset[str] = frozenset({"Large"})


def _served(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Each served entity or model with a label naming where it sits in the config."""
    served: list[tuple[str, Mapping[str, Any]]] = []
    for list_name in SERVED_LISTS:
        for index, entity in enumerate(mappings(get_path(props, f"config.{list_name}"))):
            label = str(entity.get("name") or entity.get("entityName") or entity.get("modelName") or index)
            served.append((f"config.{list_name}[{label}]", entity))
    return served


def check_prod_serving_always_on(
    resource_type: str, props: Mapping[str, Any], context: PolicyContext
) -> list[str]:
    if not context.is_production:
        return []
    return [
        f"{where}.scaleToZeroEnabled is true in prod: the first request after idle waits for a cold start"
        for where, entity in _served(props)
        if entity.get("scaleToZeroEnabled") is True
    ]


def advise_serving_cost(resource_type: str, props: Mapping[str, Any], context: PolicyContext) -> list[str]:
    if not context.is_known_non_production:
        return []
    advice: list[str] = []
    for where, entity in _served(props):
        if entity.get("workloadSize") in COSTLY_WORKLOAD_SIZES:
            advice.append(f"{where}.workloadSize is {entity.get('workloadSize')} in {context.environment}")
        if entity.get("scaleToZeroEnabled") is not True:
            advice.append(f"{where} does not scale to zero in {context.environment}")
    return advice
