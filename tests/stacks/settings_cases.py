"""The settings tests' table of bad configs, and the minimal valid stack values it starts from.

Each row of BAD_CONFIGS is one user mistake: the stack, its values, and what the one error line
must name (the key, the value as shown, what is allowed). test_settings.py runs them.
"""

from __future__ import annotations

from typing import Any

import pytest

from stacks.offline import FAKE_SUBSCRIPTION_ID

GITHUB = {"owner": "acme", "repository": "mlops"}
# failureNotificationEmails and accountId are required in every environment
ALERTS = {
    "failureNotificationEmails": ["oncall@example.com"],
    "accountId": "00000000-0000-4000-8000-00000000acc0",
}
PLATFORM = {"subscriptionId": FAKE_SUBSCRIPTION_ID}  # required in every environment
IRIS = {"name": "iris", "path": "ml"}
PROJECTS = [IRIS]  # at least one project in every environment
# The bootstrap stack's outputs (make bootstrap writes them); required in every environment.
BOOTSTRAP = {
    "previewPrincipalId": "00000000-0000-4000-8000-0000000000e1",
    "previewClientId": "00000000-0000-4000-8000-0000000000e2",
    "deployerPrincipalId": "00000000-0000-4000-8000-0000000000d1",
    "deployerClientId": "00000000-0000-4000-8000-0000000000f1",
    "backendUrl": "azblob://pulumi-state-dev?storage_account=stexample",
}
# The least a stack file must say: every test of a valid config starts from it.
VALID = {
    "github": GITHUB,
    "databricks": ALERTS,
    "platform": PLATFORM,
    "bootstrap": BOOTSTRAP,
    "projects": PROJECTS,
}


def bad(stack: str, values: dict[str, Any], key: str, shown: str, allowed: str) -> Any:
    """One bad config: the stack, its values, and what the error line must name."""
    config = {
        **VALID,
        **values,
        "platform": {**PLATFORM, **values.get("platform", {})},
        "databricks": {**ALERTS, **values.get("databricks", {})},
    }
    return pytest.param(stack, config, key, shown, allowed, id=f"{stack}:{key}:{shown}")


V = "vnetInjection"
BAD_CONFIGS = [
    bad("dev", {"platform": {"location": "westeurop"}}, "platform.location", '"westeurop"', "westeurope"),
    bad(
        "dev", {"platform": {"namePrefix": "Bad_Prefix"}}, "platform.namePrefix", '"Bad_Prefix"', "lowercase"
    ),
    bad(
        "dev",
        {"platform": {"namePrefix": "waytoolongprefix"}},
        "platform.namePrefix",
        "long",
        "budget is 3-24",
    ),
    bad(
        "dev",
        {"monitoring": {"retentionDays": 7}},
        "monitoring.retentionDays",
        "7",
        "greater than or equal to 30",
    ),
    bad(
        "dev",
        {"monitoring": {"retentionDays": 1000}},
        "monitoring.retentionDays",
        "1000",
        "less than or equal to 730",
    ),
    bad("dev", {"keyVault": {"sku": "gold"}}, "keyVault.sku", '"gold"', "'standard' or 'premium'"),
    bad("dev", {"databricks": {"computeMode": "gpu"}}, "databricks.computeMode", '"gpu"', "'job_cluster'"),
    bad(
        "sandbox",
        {"databricks": {"failureNotificationEmails": []}},
        "databricks.failureNotificationEmails",
        "[]",
        "at least one e-mail address",
    ),
    bad(
        "dev",
        {"projects": [{**IRIS, "primaryMetric": "auc"}]},
        "projects[iris].primaryMetric",
        '"auc"',
        "'f1_macro'",
    ),
    bad(
        "dev",
        {"projectDefaults": {"servingWorkloadSize": "Huge"}},
        "projectDefaults.servingWorkloadSize",
        "Huge",
        "'Large'",
    ),
    # Projects: names and paths checked, every shared schema/model/group refused on both entries.
    bad(
        "dev",
        {"platform": {"subscriptionId": "not-a-guid"}},
        "platform.subscriptionId",
        '"not-a-guid"',
        "expected a GUID like 00000000-0000-0000-0000-000000000000",
    ),
    bad("dev", {"projects": []}, "projects", "[]", "at least one entry {name, path}"),
    bad(
        "dev",
        {"projects": [{"name": "Iris!", "path": "ml"}]},
        "projects[Iris!].name",
        "Iris!",
        "a lowercase letter, then",
    ),
    bad(
        "dev",
        {"projects": [{"name": "iris", "path": "../ml"}]},
        "projects[iris].path",
        "../ml",
        "a folder of this repository",
    ),
    bad("dev", {"projects": [{"path": "ml"}]}, "projects.0.name", "(missing)", "required; the project"),
    bad(
        "dev",
        {"projects": [{**IRIS, "schma": "x"}]},
        "projects[iris].schma",
        '"x"',
        "did you mean 'schema'",
    ),
    bad(
        "dev",
        {"projects": [IRIS, {"name": "iris", "path": "ml/projects/iris"}]},
        "projects.1.name",
        '"iris"',
        "also used by projects.0 (names its jobs and its wheel folder); allowed: a name no other",
    ),
    bad(
        "dev",
        {"projects": [IRIS, {"name": "wine", "path": "ml/projects/wine", "schema": "iris"}]},
        "projects[wine].schema",
        '"iris"',
        "also used by projects[iris] (a project's tables, volume and model live in its own schema)",
    ),
    bad(
        "dev",
        {
            "projects": [
                IRIS,
                {"name": "wine", "path": "ml/projects/wine", "developersGroup": "mlops-iris-developers"},
            ]
        },
        "projects[wine].developersGroup",
        '"mlops-iris-developers"',
        "a project's developers touch only their own project",
    ),
    bad(
        "dev",
        {"projects": [IRIS, {"name": "wine", "path": "ml", "modelName": "iris_model"}]},
        "projects[wine].modelName",
        '"iris_model"',
        "the model names the serving endpoint",
    ),
    bad(
        "dev",
        {
            "projects": [
                {**IRIS, "stateFromSingleProject": True},
                {"name": "wine", "path": "ml/projects/wine", "stateFromSingleProject": True},
            ]
        },
        "projects[wine].stateFromSingleProject",
        "true",
        "allowed: true on the one project deployed before projects existed",
    ),
    bad("dev", {"monitorng": {}}, "monitorng", "{}", "did you mean 'monitoring'"),
    bad(
        "dev",
        {"github": {**GITHUB, "repositry": "x"}},
        "github.repositry",
        '"x"',
        "did you mean 'repository'",
    ),
    bad("dev", {"github": {"owner": "acme"}}, "github.repository", "(missing)", "required"),
    # Who approves prod is the bootstrap's (core/deployments.py): a stack cannot lower it.
    bad(
        "prod",
        {"github": {**GITHUB, "reviewers": []}},
        "github.reviewers",
        "[]",
        "unknown key; allowed: owner, repository",
    ),
    # Per-environment rules hold per project: prod's default is false, one entry may not say true.
    bad(
        "prod",
        {
            "projects": [IRIS, {"name": "wine", "path": "w", "servingScaleToZero": True}],
        },
        "projects[wine].servingScaleToZero",
        "true",
        "in prod, no cold starts on prod traffic; allowed: false",
    ),
    bad(
        "prod",
        {"projectDefaults": {"servingScaleToZero": True}},
        "projects[iris].servingScaleToZero",
        "true",
        "allowed: false",
    ),
    bad(
        "uat",
        {"databricks": {"developerAccess": "build"}},
        "databricks.developerAccess",
        '"build"',
        "allowed: read",
    ),
    bad(
        "prod",
        {"databricks": {"forceDestroy": True}},
        "databricks.forceDestroy",
        "true",
        "allowed: false",
    ),
    bad(
        "prod",
        {"protection": {"deleteLock": False}},
        "protection.deleteLock",
        "false",
        "allowed: true",
    ),
    bad(
        "uat", {"keyVault": {"purgeProtection": False}}, "keyVault.purgeProtection", "false", "allowed: true"
    ),
    bad(
        "prod",
        {"workspace": {"noPublicIp": False}},
        "workspace.noPublicIp",
        "false",
        "allowed: true",
    ),
    bad(
        "dev",
        {"workspace": {V: {"enabled": True, "publicSubnetCidr": "10.99.0.0/24"}}},
        f"workspace.{V}",
        "10.99.0.0/24",
        "not inside addressSpace",
    ),
    bad(
        "dev",
        {"workspace": {V: {"enabled": True, "privateSubnetCidr": "10.20.2.0/24"}}},
        f"workspace.{V}",
        "10.20.2.0/24",
        "overlaps",
    ),
    bad(
        "dev",
        {"workspace": {V: {"enabled": True, "addressSpace": "10.20.0.0/33"}}},
        f"workspace.{V}.addressSpace",
        "10.20.0.0/33",
        "not a valid CIDR",
    ),
    bad(
        "dev",
        {"keyVault": {"secrets": {"SLACK_WEBHOOK": "slackWebhook"}}},
        "keyVault.secrets.SLACK_WEBHOOK",
        '"slackWebhook"',
        "pulumi config set --secret",
    ),
    bad(
        "dev",
        {"projects": [{**IRIS, "wheelVersion": "latest"}]},
        "projects[iris].wheelVersion",
        '"latest"',
        "a release version such as 1.4.0",
    ),
    bad("staging", {}, "(stack name)", '"staging"', "sandbox, dev, uat, prod"),
    bad(
        "dev",
        {"platform": {"subscriptionId": "my-subscription"}},
        "platform.subscriptionId",
        '"my-subscription"',
        "GUID",
    ),
]
