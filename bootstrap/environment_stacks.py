"""Each environment's stack, created by ``make bootstrap`` before anything previews or deploys it.

    PULUMI_BACKEND_URL=<its container> pulumi stack select <env> --create --secrets-provider <its key>

``main`` takes pull requests only, and their required checks preview sandbox and dev
(``bootstrap/repository.py``, ``PR_CHECKS``): the pull request that commits the handoff's stack files
would fail its previews if the stacks did not exist yet, and a preview identity may not create one
(it reads the state). So the bootstrap's operator, who holds a data-plane role on every container
and key (``backend_reach``, ``operators``), creates each stack once, empty, in the environment's own
container, with the environment's Key Vault key: the same command as the deploy job's, which then
selects it (pulumi/pulumi ``pkg/cmd/pulumi/stack/stack_select.go``: ``--create`` only where the
backend has no such stack). ``PULUMI_BACKEND_URL`` overrides the login for this one call
(``pkg/workspace/creds.go``, ``GetCurrentCloudURL``), so the operator's own ``pulumi login`` is left as
it was. Creating the stack writes the wrapped data key (``encryptedkey``) into the stack file
(``pkg/cmd/pulumi/stack/io.go``, ``CreateStack``), which the operator commits with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bootstrap.handoff import interface_values, secrets_provider
from core.environment import Environment


@dataclass(frozen=True)
class StackCreation:
    environment: str
    backend_url: str
    command: list[str]

    def shown(self) -> str:
        return f"PULUMI_BACKEND_URL='{self.backend_url}' {' '.join(self.command)}"


def stack_creations(outputs: Mapping[str, Any], root: Path) -> list[StackCreation]:
    """One ``stack select --create`` per environment, against its own container with its own key."""
    creations = []
    for environment in Environment:
        backend = interface_values(outputs, environment).backend_url
        key = secrets_provider(outputs, environment)
        command = ["pulumi", "stack", "select", environment.value, "--create", "--secrets-provider", key,
                   "--non-interactive", "--cwd", str(root)]  # fmt: skip
        creations.append(StackCreation(environment.value, backend, command))
    return creations
