"""Rule cases for the Databricks rules, run by test_policy_rules.py.

Rows are (rule, resource type, environment, inputs, expected violation substring or None); every
rule needs a passing and a failing case.
"""

from __future__ import annotations

from policy_examples import changed, compliant
from rule_cases_azure import LOGS, Row

SERVING = "databricks:index/modelServing:ModelServing"
JOB = "databricks:index/job:Job"
CLUSTER = "databricks:index/cluster:Cluster"
SCOPE = "databricks:index/secretScope:SecretScope"
MONITOR = "databricks:index/qualityMonitor:QualityMonitor"

# The training job as the wheel's graph had it: 3600 s for five tasks in series, one of them 3600 s.
CHAINED_TASKS = [
    {"taskKey": "ingest", "timeoutSeconds": 900.0, "maxRetries": 1.0},
    {"taskKey": "train", "timeoutSeconds": 1800.0, "maxRetries": 1.0, "dependsOns": [{"taskKey": "ingest"}]},
    {"taskKey": "deploy", "timeoutSeconds": 3600.0, "dependsOns": [{"taskKey": "train"}]},
]
CHAINED_JOB = {**compliant(JOB), "tasks": CHAINED_TASKS}

DATABRICKS_CASES: list[Row] = [
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
