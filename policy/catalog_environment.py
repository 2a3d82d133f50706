"""Each environment's catalog names its environment, the fact the wheel's tasks trust on Databricks.

Whoever may start a job chooses its parameters, `env` included (a legacy run-now's
`python_named_params` replace them all), so the tasks read their environment from the catalog's
``mlops.environment`` property instead: Pulumi sets it, and only the catalog's owner, the
environment's deployers group, can change it (databricks-sdk ``CatalogsAPI.update``). A catalog
without it, or naming another environment, refuses every task there, or lets a uat/prod release
apply another environment's gate (mlops_framework.catalog_environment; docs/databricks.md, the release).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.environment import ENVIRONMENT_PROPERTY, Environment

from .access import CATALOG
from .context import PolicyContext
from .stack_rule import StackResource


def check_catalog_names_its_environment(
    resources: Sequence[StackResource], context: PolicyContext
) -> list[tuple[str, str]]:
    """Every catalog's ``properties`` carry ENVIRONMENT_PROPERTY = the stack's environment (any of
    the environments where the stack names none)."""
    expected = [context.environment] if context.environment is not None else [str(e) for e in Environment]
    violations: list[tuple[str, str]] = []
    for catalog in [r for r in resources if r.type == CATALOG]:
        properties = catalog.props.get("properties")
        value = properties.get(ENVIRONMENT_PROPERTY) if isinstance(properties, Mapping) else None
        if value not in expected:
            violations.append(
                (
                    catalog.urn,
                    f"properties.{ENVIRONMENT_PROPERTY} is {value!r}, not {' or '.join(expected)}: the "
                    "jobs' tasks would refuse to run or apply another environment's gate",
                )
            )
    return violations
