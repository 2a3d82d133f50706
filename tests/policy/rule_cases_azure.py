"""Rule cases for the Azure, tag and bootstrap rules, run by test_policy_rules.py.

Rows are (rule, resource type, environment, inputs, expected violation substring or None); every
rule needs a passing and a failing case.
"""

from __future__ import annotations

from typing import Any

from policy_examples import REPOSITORY, changed, compliant

from core.azure_roles import IDENTITY_SELF_ACTIONS
from core.deployments import PR_PREVIEW_WORKFLOW, RELEASE_PREVIEW_WORKFLOW
from core.github_oidc import oidc_subject, pull_request_subject

Row = tuple[str, str, str, dict[str, Any], str | None]

VAULT = "azure-native:keyvault:Vault"
STORAGE = "azure-native:storage:StorageAccount"
WORKSPACE = "azure-native:databricks:Workspace"
ROLE = "azure-native:authorization:RoleAssignment"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
JOB = "databricks:index/job:Job"
LOGS = "azure-native:operationalinsights:Workspace"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
OWNER_ROLE = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ROLE_PREFIX = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
BLOB_READER = ROLE_PREFIX + "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
READER = ROLE_PREFIX + "acdd72a7-3385-48ef-bd42-f606fba81ae7"
RBAC_ADMIN = ROLE_PREFIX + "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
_WRITE = "!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})"
ROLES_ONLY_CONDITION = (
    f"(({_WRITE}) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
    "ForAnyOfAnyValues:GuidEquals {acdd72a7-3385-48ef-bd42-f606fba81ae7}))"
)
PRINCIPAL_CONDITION = (
    f"(({_WRITE}) OR ((@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] "
    "ForAnyOfAnyValues:GuidEquals {acdd72a7-3385-48ef-bd42-f606fba81ae7} AND "
    "@Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals "
    "{00000000-0000-4000-8000-000000000004})))"
)
SERVICE_PRINCIPAL_CONDITION = PRINCIPAL_CONDITION.replace(
    "PrincipalId] ForAnyOfAnyValues:GuidEquals {00000000-0000-4000-8000-000000000004}",
    "PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {'ServicePrincipal'}",
)
# The environment column's value for the bootstrap project's stack (no environment, own project).
BOOTSTRAP = "bootstrap"
PULL_REQUEST_SUBJECT = pull_request_subject(*REPOSITORY.split("/"))
PROD_PREVIEW_SUBJECT = oidc_subject(*REPOSITORY.split("/"), "prod-preview", RELEASE_PREVIEW_WORKFLOW)
UNPINNED = "is not repo:<owner>/<repo>:environment:<env>:job_workflow_ref"
NOT_MAINS = "a token must come from main's copy of the reusable workflow"

AZURE_CASES: list[Row] = [
    # required-tags
    ("required-tags", VAULT, "prod", compliant(VAULT), None),
    (
        "required-tags",
        VAULT,
        "prod",
        changed(VAULT, "tags.cost-center", ...),
        "missing required tags: cost-center",
    ),
    ("required-tags", STORAGE, "dev", changed(STORAGE, "tags", ...), "no tags"),
    ("required-tags", VAULT, "dev", compliant(VAULT, "prod"), "does not match the stack's environment"),
    ("required-tags", ROLE, "prod", compliant(ROLE), None),  # role assignments have no tags property
    ("required-tags", FEDERATED, "prod", compliant(FEDERATED), None),  # neither do federated credentials
    ("required-tags", JOB, "prod", compliant(JOB), None),  # Databricks resources are not Azure-tagged
    ("required-tags", "azure-native:network:VirtualNetwork", "dev", {}, "no tags"),  # a taggable type
    ("required-tags", "azure-native:monitor:DiagnosticSetting", "dev", {}, None),  # no tags property
    # key-vault-hardened
    ("key-vault-hardened", VAULT, "prod", compliant(VAULT), None),
    (
        "key-vault-hardened",
        VAULT,
        "dev",
        changed(VAULT, "properties.enablePurgeProtection", ..., "dev"),
        None,
    ),
    (
        "key-vault-hardened",
        VAULT,
        "dev",
        changed(VAULT, "properties.enableRbacAuthorization", ..., "dev"),
        "enableRbacAuthorization must be true",
    ),
    (
        "key-vault-hardened",
        VAULT,
        "dev",
        changed(VAULT, "properties.enableSoftDelete", False, "dev"),
        "enableSoftDelete must not be false",
    ),
    (
        "key-vault-hardened",
        VAULT,
        "uat",
        changed(VAULT, "properties.enablePurgeProtection", ..., "uat"),
        "enablePurgeProtection must be true in uat",
    ),
    (
        "key-vault-hardened",
        VAULT,
        "sandbox",
        changed(VAULT, "properties.enablePurgeProtection", False, "sandbox"),
        "must never be set to false",
    ),
    # storage-account-hardened
    ("storage-account-hardened", STORAGE, "prod", compliant(STORAGE), None),
    (
        "storage-account-hardened",
        STORAGE,
        "prod",
        changed(STORAGE, "enableHttpsTrafficOnly", False),
        "enableHttpsTrafficOnly",
    ),
    ("storage-account-hardened", STORAGE, "prod", changed(STORAGE, "minimumTlsVersion", "TLS1_0"), "TLS1_2"),
    ("storage-account-hardened", STORAGE, "prod", changed(STORAGE, "minimumTlsVersion", ...), "TLS1_2"),
    (
        "storage-account-hardened",
        STORAGE,
        "dev",
        changed(STORAGE, "allowBlobPublicAccess", True, "dev"),
        "allowBlobPublicAccess must be false",
    ),
    (
        "storage-account-hardened",
        STORAGE,
        "dev",
        changed(STORAGE, "allowSharedKeyAccess", ..., "dev"),
        "allowSharedKeyAccess must be false",
    ),
    # databricks-workspace-hardened
    ("databricks-workspace-hardened", WORKSPACE, "prod", compliant(WORKSPACE), None),
    (
        "databricks-workspace-hardened",
        WORKSPACE,
        "dev",
        changed(WORKSPACE, "sku.name", "standard", "dev"),
        "premium",
    ),
    (
        "databricks-workspace-hardened",
        WORKSPACE,
        "prod",
        changed(WORKSPACE, "parameters.enableNoPublicIp.value", False),
        "enableNoPublicIp.value must be true in prod",
    ),
    (
        "databricks-workspace-hardened",
        WORKSPACE,
        "dev",
        changed(WORKSPACE, "parameters", ..., "dev"),
        None,  # public IPs are allowed outside prod
    ),
    # no-owner-role-assignment
    ("no-owner-role-assignment", ROLE, "prod", compliant(ROLE), None),
    ("no-owner-role-assignment", ROLE, "dev", changed(ROLE, "roleDefinitionId", OWNER_ROLE), "Owner role"),
    (
        "no-owner-role-assignment",
        ROLE,
        "dev",
        changed(ROLE, "roleDefinitionId", OWNER_ROLE.upper() + "/"),
        "Owner role",
    ),
    # no-identity-extends-its-trust (issue 29, finding 8)
    ("no-identity-extends-its-trust", ROLE, "prod", compliant(ROLE), None),
    (
        "no-identity-extends-its-trust",
        ROLE,
        "dev",
        changed(ROLE, "roleDefinitionId", ROLE_PREFIX + "b24988ac-6180-42a0-ab88-20f7382dd24c"),
        "grants Contributor",
    ),
    (
        "no-identity-extends-its-trust",
        ROLE,
        "dev",
        {"roleDefinitionId": RBAC_ADMIN, "condition": ROLES_ONLY_CONDITION},
        "without constraining the principals",
    ),
    (
        "no-identity-extends-its-trust",
        ROLE,
        "dev",
        {"roleDefinitionId": RBAC_ADMIN, "condition": PRINCIPAL_CONDITION},
        None,
    ),
    # issue 25: a principal born after the condition (the access connector's) is pinned by type
    (
        "no-identity-extends-its-trust",
        ROLE,
        BOOTSTRAP,
        {"roleDefinitionId": RBAC_ADMIN, "condition": SERVICE_PRINCIPAL_CONDITION},
        None,
    ),
    (
        "no-identity-extends-its-trust",
        ROLE,
        BOOTSTRAP,
        {
            "roleDefinitionId": RBAC_ADMIN,
            "condition": SERVICE_PRINCIPAL_CONDITION.replace("'ServicePrincipal'", "'User', 'Group'"),
        },
        "without constraining the principals",
    ),
    (
        "no-identity-extends-its-trust",
        ROLE_DEFINITION,
        "dev",
        {"permissions": [{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}]},
        "could trust itself anew",
    ),
    (
        "no-identity-extends-its-trust",
        ROLE_DEFINITION,
        "dev",
        {"permissions": [{"actions": ["*"], "notActions": list(IDENTITY_SELF_ACTIONS)}]},
        None,
    ),
    # federated-credential-scoped
    ("federated-credential-scoped", FEDERATED, "prod", compliant(FEDERATED), None),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", f"repo:{REPOSITORY}:ref:refs/heads/main"),
        UNPINNED,
    ),
    # issue 29: the subject without its workflow, as before: any workflow of the ref could log in
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", f"repo:{REPOSITORY}:environment:prod"),
        UNPINNED,
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(
            FEDERATED, "subject", compliant(FEDERATED)["subject"].replace("refs/heads/main", "refs/tags/v9")
        ),
        NOT_MAINS,
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", oidc_subject(*REPOSITORY.split("/"), "prod", PR_PREVIEW_WORKFLOW)),
        NOT_MAINS,
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", oidc_subject("someone-else", "fork", "prod")),
        "is not this repository",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", oidc_subject(*REPOSITORY.split("/"), "staging")),
        "'staging' is not one of",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", oidc_subject(*REPOSITORY.split("/"), "dev")),
        "differs from this stack's 'prod'",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "issuer", "https://evil.example.com"),
        "issuer",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "audiences", ["api://AzureADTokenExchange", "other"]),
        "audiences",
    ),
    # nonprod-log-retention (advisory)
    ("nonprod-log-retention", LOGS, "dev", compliant(LOGS, "dev"), None),
    ("nonprod-log-retention", LOGS, "prod", changed(LOGS, "retentionInDays", 365), None),
    (
        "nonprod-log-retention",
        LOGS,
        "dev",
        changed(LOGS, "retentionInDays", 180, "dev"),
        "retentionInDays is 180",
    ),
    # nonprod-storage-redundancy (advisory)
    ("nonprod-storage-redundancy", STORAGE, "prod", changed(STORAGE, "sku.name", "Standard_GRS"), None),
    (
        "nonprod-storage-redundancy",
        STORAGE,
        "dev",
        changed(STORAGE, "sku.name", "Standard_RAGRS", "dev"),
        "geo-redundant",
    ),
    # federated-credential-scoped in the bootstrap project: the two preview subjects and each
    # environment's deployer (issue 25), nothing else
    (
        "federated-credential-scoped",
        FEDERATED,
        BOOTSTRAP,
        changed(FEDERATED, "subject", PULL_REQUEST_SUBJECT),
        None,
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        BOOTSTRAP,
        changed(FEDERATED, "subject", PROD_PREVIEW_SUBJECT),
        None,
    ),
    ("federated-credential-scoped", FEDERATED, BOOTSTRAP, compliant(FEDERATED), None),
    (
        "federated-credential-scoped",
        FEDERATED,
        BOOTSTRAP,
        changed(FEDERATED, "subject", oidc_subject(*REPOSITORY.split("/"), "staging")),
        "or the same with pull_request",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        BOOTSTRAP,
        changed(FEDERATED, "subject", oidc_subject(*REPOSITORY.split("/"), "dev", PR_PREVIEW_WORKFLOW)),
        NOT_MAINS,
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        BOOTSTRAP,
        changed(FEDERATED, "subject", f"repo:{REPOSITORY}:pull_request"),
        "or the same with pull_request",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        BOOTSTRAP,
        changed(
            FEDERATED, "subject", pull_request_subject(*REPOSITORY.split("/"), ".github/workflows/pr.yml")
        ),
        NOT_MAINS,
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "dev",
        changed(FEDERATED, "subject", PULL_REQUEST_SUBJECT, "dev"),
        UNPINNED,
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        BOOTSTRAP,
        changed(FEDERATED, "subject", pull_request_subject("someone", "else")),
        "is not this repository",
    ),
    # bootstrap-grants-data-plane-only
    (
        "bootstrap-grants-data-plane-only",
        ROLE,
        BOOTSTRAP,
        changed(ROLE, "roleDefinitionId", BLOB_READER),
        None,
    ),
    ("bootstrap-grants-data-plane-only", ROLE, "dev", changed(ROLE, "roleDefinitionId", READER, "dev"), None),
    (
        "bootstrap-grants-data-plane-only",
        ROLE,
        BOOTSTRAP,
        changed(ROLE, "roleDefinitionId", READER),
        "grants acdd72a7",
    ),
    ("bootstrap-grants-data-plane-only", ROLE, BOOTSTRAP, compliant(ROLE), "the bootstrap grants only"),
    # issue 25: a deployer's custom role and RBAC administration, at its subscription only
    (
        "bootstrap-grants-data-plane-only",
        ROLE,
        BOOTSTRAP,
        {"roleDefinitionId": RBAC_ADMIN, "scope": "/subscriptions/22222222-2222-4222-8222-222222222222"},
        None,
    ),
    (
        "bootstrap-grants-data-plane-only",
        ROLE,
        BOOTSTRAP,
        {
            "roleDefinitionId": ROLE_PREFIX + "0b0c1d2e-3f40-5a6b-7c8d-9e0f1a2b3c4d",
            "scope": "/subscriptions/22222222-2222-4222-8222-222222222222",
        },
        None,
    ),
    (
        "bootstrap-grants-data-plane-only",
        ROLE,
        BOOTSTRAP,
        {
            "roleDefinitionId": ROLE_PREFIX + "0b0c1d2e-3f40-5a6b-7c8d-9e0f1a2b3c4d",
            "scope": "/subscriptions/22222222-2222-4222-8222-222222222222/resourceGroups/rg",
        },
        "a deployer's custom role or RBAC administration on a subscription",
    ),
    (
        "bootstrap-grants-data-plane-only",
        ROLE,
        BOOTSTRAP,
        {"roleDefinitionId": READER, "scope": "/subscriptions/22222222-2222-4222-8222-222222222222"},
        "grants acdd72a7",
    ),
    # state-backend-recoverable
    ("state-backend-recoverable", BLOB_SERVICE, BOOTSTRAP, compliant(BLOB_SERVICE), None),
    (
        "state-backend-recoverable",
        BLOB_SERVICE,
        BOOTSTRAP,
        changed(BLOB_SERVICE, "isVersioningEnabled", ...),
        "isVersioningEnabled",
    ),
    (
        "state-backend-recoverable",
        BLOB_SERVICE,
        BOOTSTRAP,
        changed(BLOB_SERVICE, "deleteRetentionPolicy.days", 1),
        "deleteRetentionPolicy must be enabled for at least 7 days",
    ),
    (
        "state-backend-recoverable",
        BLOB_SERVICE,
        BOOTSTRAP,
        changed(BLOB_SERVICE, "containerDeleteRetentionPolicy.enabled", False),
        "containerDeleteRetentionPolicy",
    ),
]
