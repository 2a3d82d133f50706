"""Azure's built-in role definition ids (the same GUID in every tenant), by role name.

The one table every role assignment reads (infra/identity.py and the bootstrap's grants), and the
one the policy pack names roles by (policy/identity.py, policy/access.py): a stdlib-only module of
the bottom layer, so the pack imports it from its own virtualenv. Ids: Azure RBAC docs, "Azure
built-in roles".
"""

from __future__ import annotations

ROLE_DEFINITION_IDS: dict[str, str] = {
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Role Based Access Control Administrator": "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
    "Key Vault Secrets Officer": "b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
}

# How long a new role assignment may take to be honoured: "When you assign roles or remove role
# assignments, it can take up to 10 minutes for changes to take effect" (Microsoft Learn,
# "Troubleshoot Azure RBAC", symptom "Role assignment changes are not being detected"; the same
# bound for blob data in "Authorize access to blobs using Microsoft Entra ID", "Role assignment
# propagation delays for blob data access"). What validates access through a new role waits this
# long after it (infra/workspace.py); the pack checks it does (policy/access.py).
ROLE_PROPAGATION_MINUTES = 10

# What an identity must not be able to do to itself, where it can write the resource group that
# holds it: trust a new subject, rewrite itself, or lend itself to compute that outlives a CI job.
# The deployer's custom role leaves these out (infra/identity.py); the pack checks every role that
# grants them (policy/identity.py).
IDENTITY_SELF_ACTIONS: tuple[str, ...] = (
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
    "Microsoft.ManagedIdentity/userAssignedIdentities/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
)
