"""The foundation per stack: inventory, environment differences, security."""

from __future__ import annotations

import pytest
from harness import committed_settings

from core.azure_roles import ROLE_DEFINITION_IDS
from core.environment import PRODUCTION_LIKE, Environment
from stacks.offline import OfflineRun, RecordedResource

PROD = Environment.PROD
OWNER_ROLE_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
STATEFUL_TYPES = (
    "azure-native:resources:ResourceGroup",
    "azure-native:keyvault:Vault",
    "azure-native:storage:StorageAccount",
    "azure-native:operationalinsights:Workspace",
    "azure-native:databricks:Workspace",
)
REQUIRED_EXPORTS = {
    "resourceGroupName", "workspaceUrl", "workspaceId", "workspaceNumericId", "keyVaultUri", "keyVaultName",
    "logAnalyticsWorkspaceId", "deployerClientId", "deployerPrincipalId", "tenantId", "subscriptionId",
    "ucStorageAccountName", "ucStorageContainerName", "ucStorageRoot", "accessConnectorId",
}  # fmt: skip


def one(run: OfflineRun, type_: str) -> RecordedResource:
    matches = run.of_type(type_)
    assert len(matches) == 1, f"{run.stack}: expected one {type_}, found {len(matches)}"
    return matches[0]


LOCK = "azure-native:authorization:ManagementLockAtResourceGroupLevel"


ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"


@pytest.mark.parametrize("environment", list(Environment))
def test_a_delete_lock_and_vnet_injection_exactly_where_the_stack_asks(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """How many resources each stack has is the URN snapshots' (test_snapshots.py)."""
    run, settings = plans[environment], committed_settings(environment)
    locks = run.of_type(LOCK)
    assert len(locks) == (1 if settings.protection.delete_lock else 0)
    for lock in locks:
        assert lock.plain_inputs()["level"] == "CanNotDelete"
    vnets = run.of_type("azure-native:network:VirtualNetwork")
    assert len(vnets) == (1 if settings.workspace.vnet_injection.enabled else 0)
    assert committed_settings(PROD).protection.delete_lock
    assert committed_settings(PROD).workspace.vnet_injection.enabled


@pytest.mark.parametrize("environment", list(Environment))
def test_stateful_resources_are_protected_and_retained_where_the_stack_says(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    protection = committed_settings(environment).protection
    assert committed_settings(PROD).protection.protect_stateful
    for type_ in STATEFUL_TYPES:
        resource = one(plans[environment], type_)
        assert resource.protect is protection.protect_stateful, (environment, type_)
        assert resource.options["retainOnDelete"] is protection.retain_on_delete, (environment, type_)


@pytest.mark.parametrize("environment", list(Environment))
def test_key_vault_purge_protection_is_on_in_uat_prod_and_never_false(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    properties = one(plans[environment], "azure-native:keyvault:Vault").plain_inputs()["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True
    if environment in PRODUCTION_LIKE:
        assert properties["enablePurgeProtection"] is True
        assert properties["networkAcls"]["defaultAction"] == "Deny"
    else:
        assert "enablePurgeProtection" not in properties  # omitted, never False


def test_vnet_injected_workspaces_have_no_public_ip(plans: dict[Environment, OfflineRun]) -> None:
    injected = [env for env in Environment if committed_settings(env).workspace.vnet_injection.enabled]
    assert injected
    for env in injected:
        parameters = one(plans[env], "azure-native:databricks:Workspace").plain_inputs()["parameters"]
        assert parameters["enableNoPublicIp"]["value"] is True
        assert parameters["customVirtualNetworkId"]["value"]
        vnet = one(plans[env], "azure-native:network:VirtualNetwork")
        workspace = one(plans[env], "azure-native:databricks:Workspace")
        assert (
            vnet.urn in workspace.dependencies
        )  # explicit, not ordering luck (docs/traps.md: query-validation)
        for subnet in vnet.plain_inputs()["subnets"]:
            assert subnet["delegations"][0]["serviceName"] == "Microsoft.Databricks/workspaces"


@pytest.mark.parametrize("environment", list(Environment))
def test_workspace_is_premium(plans: dict[Environment, OfflineRun], environment: Environment) -> None:
    assert (
        one(plans[environment], "azure-native:databricks:Workspace").plain_inputs()["sku"]["name"]
        == "premium"
    )


@pytest.mark.parametrize("environment", list(Environment))
def test_sizes_and_retentions_are_the_stacks(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """What each environment pays for is its settings' (stacks/defaults.py: sandbox and dev the
    cheapest), reaching the resources unchanged."""
    run, settings = plans[environment], committed_settings(environment)
    storage = one(run, "azure-native:storage:StorageAccount").plain_inputs()
    assert storage["sku"]["name"] == settings.workspace.storage_sku
    logs = one(run, "azure-native:operationalinsights:Workspace").plain_inputs()
    assert logs["retentionInDays"] == settings.monitoring.retention_days
    workspace = one(run, "azure-native:databricks:Workspace").plain_inputs()
    assert workspace["parameters"]["enableNoPublicIp"]["value"] is settings.workspace.no_public_ip
    vault = one(run, "azure-native:keyvault:Vault").plain_inputs()["properties"]
    assert vault["softDeleteRetentionInDays"] == settings.key_vault.soft_delete_retention_days


@pytest.mark.parametrize("environment", list(Environment))
def test_uc_storage_is_hardened(plans: dict[Environment, OfflineRun], environment: Environment) -> None:
    account = one(plans[environment], "azure-native:storage:StorageAccount").plain_inputs()
    assert account["isHnsEnabled"] is True
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    assert account["allowSharedKeyAccess"] is False


@pytest.mark.parametrize("environment", list(Environment))
def test_deployer_logs_in_by_github_oidc_for_its_own_environment(
    bootstrap_run: OfflineRun, environment: Environment
) -> None:
    """The bootstrap creates each environment's deployer (infra/bootstrap_deployer.py)."""
    [credential] = [
        c.plain_inputs()
        for c in bootstrap_run.of_type("azure-native:managedidentity:FederatedIdentityCredential")
        if c.name == f"deployer-{environment}-github-oidc"
    ]
    # Its own GitHub environment, and only a job running main's copy of the deploy workflow.
    assert credential["subject"] == (
        f"repo:example-org/mlops-platform:environment:{environment}"
        ":job_workflow_ref:example-org/mlops-platform/.github/workflows/pulumi-up.yml@refs/heads/main"
    )
    # What GitHub mints and Entra accepts, spelled out rather than read back from the code.
    assert credential["issuer"] == "https://token.actions.githubusercontent.com"
    assert credential["audiences"] == ["api://AzureADTokenExchange"]


@pytest.mark.parametrize("environment", list(Environment))
def test_role_assignments_are_least_privilege(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    assignments = [
        r.plain_inputs() for r in plans[environment].of_type("azure-native:authorization:RoleAssignment")
    ]
    role_ids = [a["roleDefinitionId"].rsplit("/", 1)[-1] for a in assignments]
    assert OWNER_ROLE_ID not in role_ids
    # Built-in roles, and the deployer's own custom role (tests/infra/test_deployer_identity.py).
    custom = {d.plain_inputs()["roleDefinitionId"] for d in plans[environment].of_type(ROLE_DEFINITION)}
    assert set(role_ids) <= set(ROLE_DEFINITION_IDS.values()) | custom
    assert ROLE_DEFINITION_IDS["Contributor"] not in role_ids
    rbac_admin = ROLE_DEFINITION_IDS["Role Based Access Control Administrator"]
    for assignment, role_id in zip(assignments, role_ids, strict=True):
        if role_id == rbac_admin:
            assert "GuidEquals" in assignment["condition"]
            assert OWNER_ROLE_ID not in assignment["condition"]
    assert ROLE_DEFINITION_IDS["Storage Blob Data Contributor"] in role_ids  # the access connector's


@pytest.mark.parametrize("environment", list(Environment))
def test_workspace_and_vault_send_logs_to_log_analytics(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    run = plans[environment]
    settings = {r.name: r.plain_inputs() for r in run.of_type("azure-native:monitor:DiagnosticSetting")}
    assert len(settings) == 2
    for setting in settings.values():
        assert setting["logAnalyticsDestinationType"] == "Dedicated"
    workspace_logs = settings["platform-databricks-diagnostics"]["logs"]
    assert {"category": "jobs", "enabled": True} in workspace_logs
    # Both alerts (failed jobs, drift retrain) read the table the "jobs" category writes.
    alerts = run.of_type("azure-native:monitor:ScheduledQueryRule")
    assert len(alerts) == 2
    for alert in (a.plain_inputs() for a in alerts):
        assert alert["criteria"]["allOf"][0]["query"].startswith("DatabricksJobs")
        assert alert["skipQueryValidation"] is True


@pytest.mark.parametrize("environment", list(Environment))
def test_stack_exports_everything_later_components_need(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    exports = plans[environment].exports
    assert set(exports) >= REQUIRED_EXPORTS
    assert exports["workspaceUrl"].startswith("https://")
    assert exports["ucStorageRoot"].startswith("abfss://unity-catalog@st")
    assert exports["keyVaultUri"] == f"https://{exports['keyVaultName']}.vault.azure.net/"
