"""What the stand-in ``pulumi`` keeps in the rehearsal's backend folder, besides the locks.

- **Each stack's state**, where the DIY backend keeps it: ``.pulumi/stacks/<project>/<stack>.json``
  (pulumi/pulumi ``pkg/backend/diy/store.go``, ``projectReferenceStore.StackBasePath``). A stack
  exists once ``pulumi stack init`` or ``pulumi stack select --create`` made it; ``up`` of a stack
  that does not exist stops with "no stack named ... found". Creating it records its secrets
  manager in the first state (``pkg/cmd/pulumi/stack/io.go``, ``CreateStack``: the initial
  deployment's ``secrets_providers``) and, when the stack file had no ``encryptedkey`` for that
  provider, writes the new wrapped key into the file (``createSecretsManagerForNewStack``;
  ``pkg/secrets/cloud/manager.go``, ``NewCloudSecretsManager``).
- **Who each stack's workspace has admitted.** A workspace refuses a principal it has never seen
  unless the request carries the Azure management token and the workspace's resource id, with
  which Azure Databricks adds a Contributor of the workspace as workspace admin (Microsoft Learn,
  "Get Microsoft Entra ID tokens for service principals"). ``github-oidc-azure`` sends the Entra
  token alone (databricks-sdk-go ``config/auth_azure_github_oidc.go``, ``Configure``); ``azure-cli``
  adds both headers (``config/auth_azure_cli.go``, ``getVisitor``; ``config/oauth_visitors.go``,
  ``azureVisitor``: the resource id only when ``azure_workspace_resource_id`` is set). The provider
  asks ``az`` for the Databricks and the management tokens once the workspace exists, minutes after
  azure/login: the ID token ``az`` holds has expired by then (5-10 minutes, Azure/login#180,
  Azure/azure-cli#28708), so only tokens already in ``az``'s cache answer (az_standin.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from az_standin import LOGIN, cached_resources
from databricks.sdk.environments import ARM_DATABRICKS_RESOURCE_ID, ENVIRONMENTS

# What the sdk's azure-cli login asks `az` for: the Databricks application, the management endpoint.
DATABRICKS_RESOURCE = ARM_DATABRICKS_RESOURCE_ID
MANAGEMENT_RESOURCE = ENVIRONMENTS["PUBLIC"].service_management_endpoint
EXPIRED = (
    "AADSTS700024: Client assertion is not within its valid time range (the ID token azure/login "
    "passed to az expired before the workspace existed; az's token cache holds no token for {resource})"
)


class StateError(Exception):
    """What the real CLI or service would have stopped with."""


def state_path(backend: Path, project: str, stack: str) -> Path:
    return backend / ".pulumi" / "stacks" / project / f"{stack}.json"


def select(backend: Path, project: Path, stack: str, *, create: bool, provider: str) -> str:
    """``pulumi stack select <stack> [--create --secrets-provider <provider>]``: what it says."""
    name = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    path = state_path(backend, name, stack)
    if path.is_file():
        return f"selected stack '{stack}'"
    if not create:
        raise StateError(f"no stack named '{stack}' found")
    stack_file = project / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    if document.get("secretsprovider") != provider or not document.get("encryptedkey"):
        wrapped = base64.b64encode(f"data key of {stack}, wrapped by {provider}".encode()).decode()
        document |= {"secretsprovider": provider, "encryptedkey": wrapped}
        stack_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    state = {"url": provider, "encryptedkey": document["encryptedkey"]}
    deployment = {"secrets_providers": {"type": "cloud", "state": state}, "resources": []}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 3, "deployment": deployment}), encoding="utf-8")
    return f"Created stack '{stack}' (secrets provider {provider.split('://', maxsplit=1)[0]})"


def require_stack(backend: Path, project: Path, stack: str) -> Mapping[str, Any]:
    """The stack's state, as ``pulumi stack export`` prints it; the CLI's error when there is none."""
    name = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    path = state_path(backend, name, stack)
    if not path.is_file():
        raise StateError(f"no stack named '{stack}' found")
    return json.loads(path.read_text(encoding="utf-8"))


def _admitted_path(backend: Path, stack: str) -> Path:
    return backend / "workspaces" / f"{stack}.json"


def sign_in(backend: Path, stack: str, logins: Sequence[Mapping[str, Any]], config_dir: Path) -> str:
    """The Databricks provider's first request to the stack's workspace: who it is, or the refusal."""
    admitted_path = _admitted_path(backend, stack)
    admitted = set(json.loads(admitted_path.read_text(encoding="utf-8")) if admitted_path.is_file() else ())
    said = []
    for login in logins:
        if login["authType"] == "github-oidc-azure":
            client = str(login["azureClientId"])
            if client not in admitted:
                raise StateError(
                    f"the {stack} workspace refuses {client}: a principal it has never seen, and "
                    "github-oidc-azure sends the Entra token alone, without the Azure management token "
                    "that lets Azure Databricks admit a Contributor of the workspace (as reported: "
                    "'Management API token must be provided for service principal admin user login', "
                    "terraform-provider-databricks#1627)"
                )
            said.append(f"{client} (github-oidc-azure), a principal the workspace knows")
            continue
        login_file = config_dir / LOGIN
        if not login_file.is_file():
            raise StateError("azure-cli: Please run 'az login' to setup account.")
        client = json.loads(login_file.read_text(encoding="utf-8"))["clientId"]
        cached = cached_resources(client)
        if DATABRICKS_RESOURCE not in cached:
            raise StateError(EXPIRED.format(resource=DATABRICKS_RESOURCE))
        if client not in admitted:
            if MANAGEMENT_RESOURCE not in cached or not login["workspaceResourceId"]:
                missing = "its resource id" if MANAGEMENT_RESOURCE in cached else "the management token"
                raise StateError(
                    f"the {stack} workspace refuses {client}: a principal it has never seen, and the request "
                    f"carries no {missing} (azure-cli sends the management token from az's cache and the "
                    "workspace resource id from azure_workspace_resource_id)"
                )
            admitted.add(client)
            said.append(f"{client} (azure-cli, with the management token): admitted as workspace admin")
        else:
            said.append(f"{client} (azure-cli), a principal the workspace knows")
    admitted_path.parent.mkdir(parents=True, exist_ok=True)
    admitted_path.write_text(json.dumps(sorted(admitted)), encoding="utf-8")
    return "; ".join(said)
