"""What a rule may know besides the resource: which environment it is in and which repository owns it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The four stacks; the stack name is the environment (kept equal to core.environment by a test,
# because the pack's own virtualenv cannot import the program's packages).
ENVIRONMENTS: tuple[str, ...] = ("sandbox", "dev", "uat", "prod")
PRODUCTION_LIKE: frozenset[str] = frozenset({"uat", "prod"})
PRODUCTION = "prod"
ENVIRONMENT_TAG = "environment"
# The second Pulumi project (bootstrap/): shared resources of one organisation, in no environment.
# Kept equal to infra.bootstrap_interface.BOOTSTRAP_PROJECT by a test.
BOOTSTRAP_PROJECT = "mlops-bootstrap"


@dataclass(frozen=True)
class PolicyContext:
    """The facts a rule needs that are not in the resource's own inputs.

    ``environment`` is None when neither the stack name nor the resource's ``environment`` tag
    names one of the four environments; rules then apply the strictest (prod) requirements.
    ``github_repository`` is ``owner/repo``, or None when nobody configured it. ``project`` is the
    Pulumi project of the stack being checked (the environments' or the bootstrap's).
    """

    environment: str | None = None
    github_repository: str | None = None
    project: str | None = None

    @property
    def is_bootstrap(self) -> bool:
        return self.project == BOOTSTRAP_PROJECT

    @property
    def is_production(self) -> bool:
        return self.environment in (None, PRODUCTION)

    @property
    def is_production_like(self) -> bool:
        return self.environment is None or self.environment in PRODUCTION_LIKE

    @property
    def is_known_non_production(self) -> bool:
        """Cost advice applies only where we know we are not in prod."""
        return self.environment is not None and self.environment != PRODUCTION


def environment_from(stack: str | None, props: Mapping[str, Any]) -> str | None:
    """The stack name when it is an environment, else the resource's ``environment`` tag, else None."""
    if stack in ENVIRONMENTS:
        return stack
    tags = props.get("tags")
    if isinstance(tags, Mapping):
        tagged = tags.get(ENVIRONMENT_TAG)
        if tagged in ENVIRONMENTS:
            return str(tagged)
    return None


def project_from_urn(urn: str) -> str | None:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` -> ``<project>``."""
    parts = urn.split("::")
    return parts[1] if len(parts) > 2 and parts[0].startswith("urn:pulumi:") else None
