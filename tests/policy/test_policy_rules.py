"""Each rule of the pack: a compliant case that passes and a failing case per guarded property.

Rows are (rule, resource type, environment, inputs, expected violation substring or None).
"""

from __future__ import annotations

from typing import Any

import pytest
from policy_examples import REPOSITORY, TAGS, changed, compliant

from infra.tags import TAG_KEYS
from policy.context import BOOTSTRAP_PROJECT, PolicyContext
from policy.registry import RULES
from policy.rule import Enforcement
from policy.tags import REQUIRED_TAGS

VAULT = "azure-native:keyvault:Vault"
STORAGE = "azure-native:storage:StorageAccount"
WORKSPACE = "azure-native:databricks:Workspace"
ROLE = "azure-native:authorization:RoleAssignment"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
SERVING = "databricks:index/modelServing:ModelServing"
JOB = "databricks:index/job:Job"
CLUSTER = "databricks:index/cluster:Cluster"
LOGS = "azure-native:operationalinsights:Workspace"
SCOPE = "databricks:index/secretScope:SecretScope"
MONITOR = "databricks:index/qualityMonitor:QualityMonitor"

# The training job as the wheel's graph had it: 3600 s for five tasks in series, one of them 3600 s.
CHAINED_TASKS = [
    {"taskKey": "ingest", "timeoutSeconds": 900.0, "maxRetries": 1.0},
    {"taskKey": "train", "timeoutSeconds": 1800.0, "maxRetries": 1.0, "dependsOns": [{"taskKey": "ingest"}]},
    {"taskKey": "deploy", "timeoutSeconds": 3600.0, "dependsOns": [{"taskKey": "train"}]},
]
CHAINED_JOB = {**compliant(JOB), "tasks": CHAINED_TASKS}
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
OWNER_ROLE = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
ROLE_PREFIX = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"
BLOB_READER = ROLE_PREFIX + "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
READER = ROLE_PREFIX + "acdd72a7-3385-48ef-bd42-f606fba81ae7"
# The environment column's value for the bootstrap project's stack (no environment, own project).
BOOTSTRAP = "bootstrap"
PULL_REQUEST_SUBJECT = f"repo:{REPOSITORY}:pull_request"

RULES_BY_NAME = {rule.name: rule for rule in RULES}

Row = tuple[str, str, str, dict[str, Any], str | None]

CASES: list[Row] = [
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
    # federated-credential-scoped
    ("federated-credential-scoped", FEDERATED, "prod", compliant(FEDERATED), None),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", f"repo:{REPOSITORY}:ref:refs/heads/main"),
        "is not repo:<owner>/<repo>:environment:<env>",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", "repo:someone-else/fork:environment:prod"),
        "is not this repository",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", f"repo:{REPOSITORY}:environment:staging"),
        "'staging' is not one of",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "prod",
        changed(FEDERATED, "subject", f"repo:{REPOSITORY}:environment:dev"),
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
    # prod-serving-always-on
    ("prod-serving-always-on", SERVING, "prod", compliant(SERVING), None),
    (
        "prod-serving-always-on",
        SERVING,
        "prod",
        {"config": {"servedEntities": [{"entityName": "m", "scaleToZeroEnabled": True}]}},
        "config.servedEntities[m].scaleToZeroEnabled is true in prod",
    ),
    (
        "prod-serving-always-on",
        SERVING,
        "prod",
        {"config": {"servedModels": [{"modelName": "legacy", "scaleToZeroEnabled": True}]}},
        "config.servedModels[legacy]",
    ),
    (
        "prod-serving-always-on",
        SERVING,
        "dev",
        {"config": {"servedEntities": [{"entityName": "m", "scaleToZeroEnabled": True}]}},
        None,
    ),
    # job-runs-as-service-principal
    ("job-runs-as-service-principal", JOB, "prod", compliant(JOB), None),
    ("job-runs-as-service-principal", JOB, "dev", changed(JOB, "runAs", ...), "runAs.servicePrincipalName"),
    (
        "job-runs-as-service-principal",
        JOB,
        "dev",
        changed(JOB, "runAs", {"userName": "alice@example.com"}),
        "runs the job as a person",
    ),
    # job-notifies-on-failure
    ("job-notifies-on-failure", JOB, "prod", compliant(JOB), None),
    ("job-notifies-on-failure", JOB, "dev", changed(JOB, "emailNotifications.onFailures", []), "no failure"),
    (
        "job-notifies-on-failure",
        JOB,
        "dev",
        {**changed(JOB, "emailNotifications", ...), "webhookNotifications": {"onFailures": [{"id": "hook"}]}},
        None,
    ),
    # nonprod-serving-cost (advisory)
    ("nonprod-serving-cost", SERVING, "prod", compliant(SERVING), None),
    (
        "nonprod-serving-cost",
        SERVING,
        "dev",
        {
            "config": {
                "servedEntities": [{"entityName": "m", "workloadSize": "Small", "scaleToZeroEnabled": True}]
            }
        },
        None,
    ),
    (
        "nonprod-serving-cost",
        SERVING,
        "sandbox",
        {
            "config": {
                "servedEntities": [{"entityName": "m", "workloadSize": "Large", "scaleToZeroEnabled": True}]
            }
        },
        "workloadSize is Large in sandbox",
    ),
    ("nonprod-serving-cost", SERVING, "dev", compliant(SERVING), "does not scale to zero in dev"),
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
    # job-has-timeout (advisory)
    ("job-has-timeout", JOB, "dev", compliant(JOB), None),
    ("job-has-timeout", JOB, "dev", changed(JOB, "timeoutSeconds", 0), "timeoutSeconds"),
    # the engine sends numbers as doubles: 3600.0 is a timeout too
    ("job-has-timeout", JOB, "dev", changed(JOB, "timeoutSeconds", 3600.0), None),
    (
        "nonprod-log-retention",
        LOGS,
        "dev",
        changed(LOGS, "retentionInDays", 180.0, "dev"),
        "retentionInDays is 180 in dev",
    ),
    # job-timeout-covers-tasks (defect 9): 900x2 + 1800x2 + 3600 = 9000 s along the chain
    ("job-timeout-covers-tasks", JOB, "dev", {**CHAINED_JOB, "timeoutSeconds": 9000.0}, None),
    (
        "job-timeout-covers-tasks",
        JOB,
        "dev",
        {**CHAINED_JOB, "timeoutSeconds": 3600.0},
        "ingest -> train -> deploy (9000 s",
    ),
    ("job-timeout-covers-tasks", JOB, "dev", {**CHAINED_JOB, "timeoutSeconds": 0.0}, None),  # no limit
    # secret-scope-databricks-backed (defect 6)
    ("secret-scope-databricks-backed", SCOPE, "prod", compliant(SCOPE), None),
    (
        "secret-scope-databricks-backed",
        SCOPE,
        "prod",
        {
            "name": "mlops-prod-jobs",
            "backendType": "AZURE_KEYVAULT",
            "keyvaultMetadata": {
                "resourceId": "/subscriptions/x/vaults/kv",
                "dnsName": "https://kv.vault.azure.net/",
            },
        },
        "Key Vault-backed",
    ),
    # monitor-profiles-predictions (defect 11): the monitor as it was, on the raw payload
    ("monitor-profiles-predictions", MONITOR, "prod", compliant(MONITOR), None),
    (
        "monitor-profiles-predictions",
        MONITOR,
        "prod",
        changed(MONITOR, "tableName", "mlops_prod.iris.mlops_prod_iris_classifier_payload"),
        "raw inference payload",
    ),
    (
        "monitor-profiles-predictions",
        MONITOR,
        "prod",
        changed(MONITOR, "inferenceLog.predictionCol", "response"),
        "JSON text",
    ),
    # federated-credential-scoped in the bootstrap project: the PR-preview subject and nothing else
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
        compliant(FEDERATED),
        "is not repo:<owner>/<repo>:pull_request",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        "dev",
        changed(FEDERATED, "subject", PULL_REQUEST_SUBJECT, "dev"),
        "is not repo:<owner>/<repo>:environment",
    ),
    (
        "federated-credential-scoped",
        FEDERATED,
        BOOTSTRAP,
        changed(FEDERATED, "subject", "repo:someone/else:pull_request"),
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
    # cluster-autotermination (advisory)
    ("cluster-autotermination", CLUSTER, "dev", compliant(CLUSTER), None),
    (
        "cluster-autotermination",
        CLUSTER,
        "dev",
        changed(CLUSTER, "autoterminationMinutes", ...),
        "autotermination",
    ),
]


def _case_id(row: Row) -> str:
    rule, resource_type, environment, _, expected = row
    return f"{rule}-{environment}-{resource_type.rsplit(':', 1)[-1]}-{'fails' if expected else 'passes'}"


@pytest.mark.parametrize(
    ("rule_name", "resource_type", "environment", "props", "expected"),
    [pytest.param(*row, id=_case_id(row)) for row in CASES],
)
def test_rule_passes_compliant_inputs_and_names_the_broken_property(
    rule_name: str, resource_type: str, environment: str, props: dict[str, Any], expected: str | None
) -> None:
    rule = RULES_BY_NAME[rule_name]
    context = (
        PolicyContext(environment=None, github_repository=REPOSITORY, project=BOOTSTRAP_PROJECT)
        if environment == BOOTSTRAP
        else PolicyContext(environment=environment, github_repository=REPOSITORY)
    )
    violations = rule.evaluate(resource_type, props, context)
    if expected is None:
        assert violations == []
    else:
        assert any(expected in message for message in violations), violations


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    passing = {row[0] for row in CASES if row[4] is None}
    failing = {row[0] for row in CASES if row[4] is not None}
    uncovered = {rule.name for rule in RULES if rule.name != "secret-inputs-are-secrets"} - (
        passing & failing
    )
    assert uncovered == set()  # secret-inputs-are-secrets has its own table in test_policy_secrets.py


@pytest.mark.parametrize("environment", [None, "prod"])
def test_unknown_environment_gets_prod_rules(environment: str | None) -> None:
    """A stack that is none of the four environments is held to prod's requirements."""
    workspace = RULES_BY_NAME["databricks-workspace-hardened"]
    props = changed(WORKSPACE, "parameters.enableNoPublicIp.value", False)
    assert workspace.evaluate(WORKSPACE, props, PolicyContext(environment, REPOSITORY)) != []


def test_federated_credential_fails_closed_without_a_configured_repository() -> None:
    rule = RULES_BY_NAME["federated-credential-scoped"]
    violations = rule.evaluate(FEDERATED, compliant(FEDERATED), PolicyContext("prod", None))
    assert any("configure githubRepository" in message for message in violations)


def test_required_tags_match_the_tags_the_program_applies() -> None:
    """The pack's list and infra's tag keys are one vocabulary (the pack cannot import infra at run time)."""
    assert set(REQUIRED_TAGS) == set(TAG_KEYS) == set(TAGS)


def test_cost_rules_are_advisory_and_guardrails_mandatory() -> None:
    advisory = {rule.name for rule in RULES if rule.enforcement is Enforcement.ADVISORY}
    assert advisory == {
        "nonprod-serving-cost",
        "nonprod-log-retention",
        "nonprod-storage-redundancy",
        "job-has-timeout",
        "cluster-autotermination",
    }
