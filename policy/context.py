"""What a rule may know besides the resource: which environment it is in and which repository owns it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The bottom layer: stdlib-only, importable from the pack's own virtualenv (policy/__main__.py puts
# the repository and the wheel's source on its path). The stack name is the environment.
from core.environment import PRODUCTION_LIKE, Environment
from core.pulumi_project import BOOTSTRAP_PROJECT

ENVIRONMENT_TAG = "environment"


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
        return self.environment in (None, Environment.PROD)

    @property
    def is_production_like(self) -> bool:
        return self.environment is None or self.environment in PRODUCTION_LIKE

    @property
    def is_known_non_production(self) -> bool:
        """Cost advice applies only where we know we are not in prod."""
        return self.environment is not None and self.environment != Environment.PROD


def environment_named(name: object) -> Environment | None:
    """The environment called ``name``, or None when it is none of them."""
    return next((environment for environment in Environment if environment.value == name), None)


def environment_from(stack: str | None, props: Mapping[str, Any]) -> Environment | None:
    """The stack name when it is an environment, else the resource's ``environment`` tag, else None."""
    named = environment_named(stack)
    if named is not None:
        return named
    tags = props.get("tags")
    return environment_named(tags.get(ENVIRONMENT_TAG)) if isinstance(tags, Mapping) else None


def project_from_urn(urn: str) -> str | None:
    """``urn:pulumi:<stack>::<project>::<type>::<name>`` -> ``<project>``."""
    parts = urn.split("::")
    return parts[1] if len(parts) > 2 and parts[0].startswith("urn:pulumi:") else None
