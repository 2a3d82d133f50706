"""Compliant example inputs per resource type, in the provider's camelCase shape.

Each failing case in the rule tables is one of these with a single property changed, so a
failure names exactly the property the rule guards.
"""

from __future__ import annotations

import copy
from typing import Any

from core.github_oidc import oidc_subject

REPOSITORY = "contoso/mlops-platform"

TAGS = {
    "environment": "prod",
    "project": "mlops-platform",
    "owner": "platform-team",
    "cost-center": "cc-1234",
    "managed-by": "pulumi",
}

COMPLIANT: dict[str, dict[str, Any]] = {
    "azure-native:keyvault:Vault": {
        "tags": TAGS,
        "properties": {
            "enableRbacAuthorization": True,
            "enableSoftDelete": True,
            "enablePurgeProtection": True,
            "tenantId": "00000000-0000-4000-8000-000000000002",
        },
    },
    "azure-native:storage:StorageAccount": {
        "tags": TAGS,
        "sku": {"name": "Standard_LRS"},
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,
        "encryption": {"keySource": "Microsoft.Storage"},
    },
    "azure-native:databricks:Workspace": {
        "tags": TAGS,
        "sku": {"name": "premium"},
        "parameters": {"enableNoPublicIp": {"value": True}},
    },
    "azure-native:authorization:RoleAssignment": {
        "principalId": "00000000-0000-4000-8000-000000000004",
        "roleDefinitionId": (
            "/subscriptions/00000000-0000-4000-8000-000000000001/providers/Microsoft.Authorization"
            "/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
        ),
    },
    "azure-native:managedidentity:FederatedIdentityCredential": {
        "issuer": "https://token.actions.githubusercontent.com",
        "audiences": ["api://AzureADTokenExchange"],
        "subject": oidc_subject(*REPOSITORY.split("/"), "prod"),
    },
    "databricks:index/modelServing:ModelServing": {
        "name": "iris-prod",
        "config": {
            "servedEntities": [
                {"entityName": "main.iris.model", "workloadSize": "Small", "scaleToZeroEnabled": False}
            ]
        },
    },
    "databricks:index/job:Job": {
        "name": "training",
        "runAs": {"servicePrincipalName": "00000000-0000-4000-8000-000000000003"},
        "emailNotifications": {"onFailures": ["platform-team@example.com"]},
        "timeoutSeconds": 3600,
    },
    "databricks:index/cluster:Cluster": {"clusterName": "adhoc", "autoterminationMinutes": 30},
    "databricks:index/secretScope:SecretScope": {"name": "mlops-prod-jobs", "backendType": "DATABRICKS"},
    "databricks:index/qualityMonitor:QualityMonitor": {
        "tableName": "mlops_prod.iris.iris_predictions",
        "outputSchemaName": "mlops_prod.iris",
        "inferenceLog": {
            "problemType": "PROBLEM_TYPE_CLASSIFICATION",
            "predictionCol": "prediction",
            "modelIdCol": "model_version",
            "timestampCol": "scored_at",
        },
    },
    "azure-native:operationalinsights:Workspace": {"tags": TAGS, "retentionInDays": 30},
    "azure-native:storage:BlobServiceProperties": {
        "isVersioningEnabled": True,
        "deleteRetentionPolicy": {"enabled": True, "days": 30},
        "containerDeleteRetentionPolicy": {"enabled": True, "days": 30},
    },
}


def compliant(resource_type: str, environment: str = "prod") -> dict[str, Any]:
    """A deep copy of the compliant inputs, re-tagged and re-scoped for ``environment``."""
    props = copy.deepcopy(COMPLIANT[resource_type])
    if "tags" in props:
        props["tags"]["environment"] = environment
    if "subject" in props:
        props["subject"] = oidc_subject(*REPOSITORY.split("/"), environment)
    return props


def changed(resource_type: str, path: str, value: Any, environment: str = "prod") -> dict[str, Any]:
    """Compliant inputs with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
    props = compliant(resource_type, environment)
    *parents, leaf = path.split(".")
    target = props
    for step in parents:
        target = target.setdefault(step, {})
    if value is ...:
        target.pop(leaf, None)
    else:
        target[leaf] = value
    return props
