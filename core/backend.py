"""Where each environment's Pulumi state and secrets-provider key live in the bootstrap's backend.

One blob container and one key per environment: a deployer is granted its own environment's pair
and nothing else, so dev's deployer can neither read nor rewrite ``prod``'s state (a stack file it
could edit to make the next prod ``up`` delete a real resource) nor decrypt prod's secrets. The
policy pack tells which environment a key or container serves by these names (policy/backend.py).
"""

from __future__ import annotations

from mlops_framework.vocabulary import Environment

_KEY_PREFIX = "stack-"
_CONTAINER_PREFIX = "pulumi-state-"


def secrets_key_name(environment: str) -> str:
    """The secrets-provider key of one environment's stack: ``stack-<environment>``."""
    return f"{_KEY_PREFIX}{environment}"


def state_container_name(environment: str) -> str:
    """The blob container holding one environment's state: ``pulumi-state-<environment>``."""
    return f"{_CONTAINER_PREFIX}{environment}"


def environment_served(name: object) -> Environment | None:
    """The environment a key or container of the backend serves, by its name; None for any other."""
    for prefix in (_KEY_PREFIX, _CONTAINER_PREFIX):
        if isinstance(name, str) and name.startswith(prefix):
            return next((e for e in Environment if e.value == name.removeprefix(prefix)), None)
    return None
