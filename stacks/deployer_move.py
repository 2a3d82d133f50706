"""The deployer's move into the bootstrap: what left the environment stacks, and the guard that a
deployed environment's state is ready for it (docs/bootstrap.md, "The deployers").

    pulumi stack export -s <env> | python -m stacks.deployer_move <env>

The release that moved the deployer stops declaring five resources in every environment stack.
The engine deletes a resource its program no longer declares, unless its *state* says
``retainOnDelete`` (pulumi/pulumi ``pkg/resource/deploy/step.go``, ``DeleteStep.Apply``); CI's
deployer may delete none of them (its role leaves out ``Microsoft.Authorization/*/Delete``, its RBAC
administration deletes only delegated roles) and the identity is the one CI logs in as. The two
releases before (steps 1 and 1b) wrote retain-on-delete into the state. An environment whose state
still holds one of them without it must first deploy a release of those steps; this guard, which
the deploy job runs before ``pulumi up``, says so and exits 2. A new environment's state (or one
already moved) holds none of them: nothing to check.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from core.environment import Environment
from core.pulumi_project import PROJECT

EXIT_NOT_RETAINED = 2
COMPONENT = "mlops:azure:DeployerIdentity"
# (type, logical name) of what each environment stack stopped declaring: moved to the bootstrap
# (identity and credential, imported there) or superseded by the bootstrap's subscription roles.
LEFT_FOR_THE_BOOTSTRAP: tuple[tuple[str, str], ...] = (
    ("azure-native:managedidentity:UserAssignedIdentity", "platform-identity-deployer"),
    ("azure-native:managedidentity:FederatedIdentityCredential", "platform-identity-github-oidc"),
    ("azure-native:authorization:RoleDefinition", "platform-identity-deployer-role"),
    ("azure-native:authorization:RoleAssignment", "platform-identity-rg-contributor"),
    ("azure-native:authorization:RoleAssignment", "platform-identity-rg-rbac-admin"),
)


def left_urns(stack: str, project: str = PROJECT) -> frozenset[str]:
    """The URNs the move took out of ``stack``."""
    return frozenset(
        f"urn:pulumi:{stack}::{project}::{COMPONENT}${type_}::{name}"
        for type_, name in LEFT_FOR_THE_BOOTSTRAP
    )


def not_retained(stack: str, export: Mapping[str, Any]) -> list[str]:
    """URNs of ``export`` (``pulumi stack export``) the move drops that the state does not retain."""
    deployment = export.get("deployment")
    resources = (deployment.get("resources") if isinstance(deployment, Mapping) else None) or []
    moved = left_urns(stack)
    return sorted(
        str(r.get("urn"))
        for r in resources
        if isinstance(r, Mapping) and r.get("urn") in moved and not r.get("retainOnDelete")
    )


def main(argv: list[str] | None = None, stdin: Any = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.deployer_move", description=__doc__.splitlines()[0]
    )
    parser.add_argument("stack", choices=[e.value for e in Environment])
    args = parser.parse_args(argv)
    text = (stdin or sys.stdin).read()
    export = json.loads(text) if text.strip() else {}  # a stack with no state yet exports nothing
    missing = not_retained(args.stack, export if isinstance(export, Mapping) else {})
    if missing:
        listed = "\n  ".join(missing)
        sys.stderr.write(
            f"{args.stack}: this release no longer declares the deployer, but the state does not retain:\n"
            f"  {listed}\n`pulumi up` would try to delete them (CI may not, and the identity is the one it "
            "logs in as). Deploy this environment from the release before the move first (docs/bootstrap.md, "
            '"The deployers"), then this one.\n'
        )
        return EXIT_NOT_RETAINED
    return 0


if __name__ == "__main__":
    sys.exit(main())
