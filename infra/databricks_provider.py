"""The Databricks provider of one environment, built from its workspace's outputs.

Known trap (docs/traps.md: explicit-provider).

Never the ambient default provider: host, Azure resource id and auth type are all explicit, so a
stray ``DATABRICKS_HOST`` or ``~/.databrickscfg`` profile can never point a stack at the wrong
workspace, and a missing credential fails naming the method instead of probing an opaque chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import pulumi
import pulumi_databricks as databricks


class DatabricksAuthType(StrEnum):
    """How the provider obtains a Microsoft Entra ID token for the workspace."""

    # `az`'s login: a person's (sandbox, local previews) or the deploy job's (azure/login as the
    # deployer). Besides the Entra token it sends the Azure management token
    # (X-Databricks-Azure-SP-Management-Token) and the workspace's resource id
    # (X-Databricks-Azure-Workspace-Resource-Id): databricks-sdk-go config/auth_azure_cli.go,
    # getVisitor (serviceToServiceVisitor with the AzureServiceManagementEndpoint token), and
    # config/oauth_visitors.go, azureVisitor (the header only when azure_workspace_resource_id is set).
    AZURE_CLI = "azure-cli"
    # GitHub Actions OIDC token exchanged for an Entra token of the job's identity (no secret). It
    # sends that token alone (config/auth_azure_github_oidc.go, Configure: an OAuth credentials
    # provider over the exchanged token): a workspace refuses a principal it has never seen.
    GITHUB_OIDC_AZURE = "github-oidc-azure"


AUTH_TYPE_VARIABLE = "DATABRICKS_AUTH_TYPE"


def auth_type_for(environ: Mapping[str, str]) -> DatabricksAuthType:
    """The login a job declares in ``DATABRICKS_AUTH_TYPE``; else OIDC inside GitHub Actions (its
    token endpoint is present), the Azure CLI everywhere else.

    The deploy job declares ``azure-cli`` (pulumi-up.yml): its ``az`` is logged in as the
    environment's deployer (azure/login, OIDC), and only that login sends the Azure management token
    with the workspace's resource id, which lets a new workspace admit the deployer that created it
    (docs/databricks.md, "The deployer must be in the workspace"). Pull-request previews declare
    nothing and keep ``github-oidc-azure``, as the read-only identity they run as.
    For ``stacks/`` to call with ``os.environ``: infra never reads the process environment itself.
    """
    declared = environ.get(AUTH_TYPE_VARIABLE)
    if declared:
        try:
            return DatabricksAuthType(declared)
        except ValueError:
            allowed = ", ".join(t.value for t in DatabricksAuthType)
            raise ValueError(
                f"{AUTH_TYPE_VARIABLE}={declared!r}: the stacks' Databricks provider logs in with one of "
                f"{allowed} (unset: {DatabricksAuthType.GITHUB_OIDC_AZURE.value} inside GitHub Actions, "
                f"{DatabricksAuthType.AZURE_CLI.value} elsewhere)"
            ) from None
    if environ.get("GITHUB_ACTIONS") == "true" and "ACTIONS_ID_TOKEN_REQUEST_URL" in environ:
        return DatabricksAuthType.GITHUB_OIDC_AZURE
    return DatabricksAuthType.AZURE_CLI


def workspace_url(host: pulumi.Input[str]) -> pulumi.Output[str]:
    """The workspace's ``workspaceUrl`` output has no scheme; the provider wants ``https://``."""
    return pulumi.Output.from_input(host).apply(lambda h: h if h.startswith("https://") else f"https://{h}")


def create_provider(
    name: str,
    *,
    host: pulumi.Input[str],
    workspace_resource_id: pulumi.Input[str],
    auth_type: DatabricksAuthType,
    azure_client_id: pulumi.Input[str] | None,
    azure_tenant_id: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
) -> databricks.Provider:
    """An explicit provider; OIDC needs the deployer's client id and tenant to exchange the token."""
    if auth_type is DatabricksAuthType.GITHUB_OIDC_AZURE and (
        azure_client_id is None or azure_tenant_id is None
    ):
        raise ValueError(
            "Databricks auth_type github-oidc-azure needs the deployer identity's client id and the "
            "tenant id (deployer_client_id, tenant_id): without them the OIDC token cannot be exchanged"
        )
    return databricks.Provider(
        name,
        host=workspace_url(host),
        azure_workspace_resource_id=workspace_resource_id,
        auth_type=auth_type.value,
        azure_client_id=azure_client_id if auth_type is DatabricksAuthType.GITHUB_OIDC_AZURE else None,
        azure_tenant_id=azure_tenant_id,
        opts=opts,
    )
