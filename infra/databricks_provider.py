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

    # A person's `az login` session (sandbox, local previews).
    AZURE_CLI = "azure-cli"
    # GitHub Actions OIDC token exchanged for an Entra token of the deployer identity (no secret).
    GITHUB_OIDC_AZURE = "github-oidc-azure"


def auth_type_for(environ: Mapping[str, str]) -> DatabricksAuthType:
    """OIDC inside GitHub Actions (its token endpoint is present), the Azure CLI everywhere else.

    For ``stacks/`` to call with ``os.environ``: infra never reads the process environment itself.
    """
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
