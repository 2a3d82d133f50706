"""One environment's Databricks workloads: provider, grants, permissions, serving, secrets, monitor."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import CHAMPION_VERSION
from databricks_fixtures.program import PREVIEW_CLIENT_ID, workloads_args
from pydantic import ValidationError

from core.environment import Environment
from infra.databricks_provider import DatabricksAuthType, auth_type_for
from infra.model_serving import ENDPOINT_TIMEOUTS, SERVED_VERSION_PATH
from stacks.offline import FAKE_OUTPUTS, OfflineRun, RecordedResource

SP_ID = FAKE_OUTPUTS["databricks:index/servicePrincipal:ServicePrincipal"]("sp", {})["applicationId"]
PROVIDER = "pulumi:providers:databricks"
SERVING = "databricks:index/modelServing:ModelServing"
MONITOR = "databricks:index/qualityMonitor:QualityMonitor"
GRANTS = "databricks:index/grants:Grants"
PERMISSIONS = "databricks:index/permissions:Permissions"
STATEFUL = (
    "databricks:index/catalog:Catalog",
    "databricks:index/schema:Schema",
    "databricks:index/volume:Volume",
    "databricks:index/registeredModel:RegisteredModel",
    SERVING,
)


def one(run: OfflineRun, type_: str) -> RecordedResource:
    (resource,) = run.of_type(type_)
    return resource


def grants_on(run: OfflineRun, securable: str) -> dict[str, list[str]]:
    (resource,) = [g for g in run.of_type(GRANTS) if securable in g.inputs]
    return {g["principal"]: g["privileges"] for g in resource.plain_inputs()["grants"]}


def acl_of(resource: RecordedResource) -> dict[str, str]:
    controls = resource.plain_inputs()["accessControls"]
    return {c.get("groupName") or c["servicePrincipalName"]: c["permissionLevel"] for c in controls}


# --- provider (docs/traps.md: explicit-provider) ------------------------------------------------------------


def test_every_databricks_resource_uses_the_explicit_provider(runs: dict[Environment, OfflineRun]) -> None:
    for env, run in runs.items():
        provider = one(run, PROVIDER)
        databricks_resources = [r for r in run.resources if r.type.startswith("databricks:")]
        assert len(databricks_resources) > 15
        for resource in databricks_resources:
            assert resource.provider.startswith(provider.urn + "::"), (env, resource.name, resource.provider)


def test_provider_is_built_from_the_workspace_outputs_with_explicit_auth(
    runs: dict[Environment, OfflineRun],
) -> None:
    for env, run in runs.items():
        inputs = one(run, PROVIDER).plain_inputs()
        assert inputs["host"].startswith("https://adb-")
        assert inputs["azureWorkspaceResourceId"].endswith(f"/workspaces/dbw-mlops-{env.value}")
        assert inputs["authType"] in {t.value for t in DatabricksAuthType}
    local, ci = (
        one(runs[Environment.DEV], PROVIDER).plain_inputs(),
        one(runs[Environment.PROD], PROVIDER).plain_inputs(),
    )
    assert local["authType"] == "azure-cli"
    assert "azureClientId" not in local
    assert ci["authType"] == "github-oidc-azure"
    assert ci["azureClientId"]
    assert ci["azureTenantId"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, DatabricksAuthType.AZURE_CLI),
        ({"GITHUB_ACTIONS": "true"}, DatabricksAuthType.AZURE_CLI),  # no id-token permission: no OIDC
        (
            {"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x"},
            DatabricksAuthType.GITHUB_OIDC_AZURE,
        ),
    ],
)
def test_auth_type_is_oidc_only_inside_github_actions_with_an_id_token(
    environ: dict[str, str], expected: DatabricksAuthType
) -> None:
    assert auth_type_for(environ) is expected


# --- Unity Catalog and grants (docs/traps.md: authoritative-grants) -----------------------------------------


def test_catalog_lives_on_the_environments_external_location(runs: dict[Environment, OfflineRun]) -> None:
    for env, run in runs.items():
        credential = one(run, "databricks:index/storageCredential:StorageCredential").plain_inputs()
        location = one(run, "databricks:index/externalLocation:ExternalLocation").plain_inputs()
        catalog = one(run, "databricks:index/catalog:Catalog").plain_inputs()
        assert credential["azureManagedIdentity"]["accessConnectorId"].endswith(f"dbac-mlops-{env.value}")
        assert location["credentialName"] == credential["name"] == f"mlops-{env.value}-uc"
        assert (
            catalog["storageRoot"]
            == location["url"]
            == f"abfss://unity-catalog@stmlops{env.value}.dfs.core.windows.net/"
        )
        assert catalog["name"] == f"mlops_{env.value}"
        assert catalog["isolationMode"] == "ISOLATED"
        volume = one(run, "databricks:index/volume:Volume").plain_inputs()
        assert (volume["name"], volume["volumeType"]) == ("artifacts", "MANAGED")


# --- identity, model and workspace permissions ------------------------------------------------------------


def test_registered_model_is_owned_by_the_job_principal(runs: dict[Environment, OfflineRun]) -> None:
    for env, run in runs.items():
        model = one(run, "databricks:index/registeredModel:RegisteredModel").plain_inputs()
        assert model["owner"] == SP_ID
        assert (model["catalogName"], model["schemaName"], model["name"]) == (
            f"mlops_{env.value}",
            "iris",
            "iris_classifier",
        )


def test_job_principal_cannot_create_clusters(runs: dict[Environment, OfflineRun]) -> None:
    principals = {
        p.plain_inputs()["displayName"]: p.plain_inputs()
        for p in runs[Environment.DEV].of_type("databricks:index/servicePrincipal:ServicePrincipal")
    }
    assert set(principals) == {"mlops-dev-jobs", "mlops-dev-deployer", "mlops-dev-preview"}
    assert all(p["allowClusterCreate"] is False for p in principals.values())
    assert "applicationId" not in principals["mlops-dev-jobs"]  # Databricks-managed


def test_the_preview_identity_reads_the_workspace_and_can_do_nothing_else(
    trained_runs: dict[Environment, OfflineRun],
) -> None:
    """Read-only: view/read ACLs, BROWSE on the catalog, no compute, no SQL, in every environment."""
    read_levels = {"CAN_VIEW", "CAN_READ"}
    for env, run in trained_runs.items():
        [preview] = [
            p.plain_inputs()
            for p in run.of_type("databricks:index/servicePrincipal:ServicePrincipal")
            if p.plain_inputs().get("applicationId") == PREVIEW_CLIENT_ID
        ]
        assert (preview["allowClusterCreate"], preview["allowInstancePoolCreate"]) == (False, False)
        assert preview["databricksSqlAccess"] is False
        levels = {acl_of(p).get(PREVIEW_CLIENT_ID) for p in run.of_type(PERMISSIONS)}
        assert levels - {None} <= read_levels, env
        privileges = {
            privilege
            for securable in ("catalog", "schema", "volume", "model")
            for privilege in grants_on(run, securable).get(PREVIEW_CLIENT_ID, [])
        }
        assert privileges == {"BROWSE"}, env


# --- serving, planned after a training run set the champion ------------------------------------------
# (docs/traps.md: served-version, endpoint-round-trip, prod-serving-protection)


def test_no_endpoint_unless_asked_so_an_empty_environment_deploys(
    trained_runs: dict[Environment, OfflineRun],
) -> None:
    for env in (Environment.SANDBOX, Environment.DEV):
        assert trained_runs[env].of_type(SERVING) == []
        assert trained_runs[env].of_type(MONITOR) == []


def test_endpoint_serves_the_uc_model_sized_per_environment(
    trained_runs: dict[Environment, OfflineRun],
) -> None:
    expected = {Environment.UAT: ("Small", True), Environment.PROD: ("Medium", False)}
    for env, (size, scale_to_zero) in expected.items():
        endpoint = one(trained_runs[env], SERVING).plain_inputs()
        (served,) = endpoint["config"]["servedEntities"]
        assert served["entityName"] == f"mlops_{env.value}.iris.iris_classifier"
        assert (served["workloadSize"], served["scaleToZeroEnabled"]) == (size, scale_to_zero)
        assert endpoint["name"] == f"mlops-{env.value}-iris-classifier"


def test_pulumi_leaves_the_served_version_to_the_deploy_task(
    trained_runs: dict[Environment, OfflineRun],
) -> None:
    for env in (Environment.UAT, Environment.PROD):
        endpoint = one(trained_runs[env], SERVING)
        assert endpoint.options["ignoreChanges"] == [SERVED_VERSION_PATH]
        # The ignored path must name a real engine input, or Pulumi would silently ignore nothing.
        value: Any = endpoint.plain_inputs()
        for step in re.findall(r"[A-Za-z]+|\[\d+\]", SERVED_VERSION_PATH):
            value = value[int(step[1:-1])] if step.startswith("[") else value[step]
        assert value == str(CHAMPION_VERSION)  # the champion, not a hard-coded 1
        # Only the version is left alone: the size stays Pulumi's.
        assert not any("workloadSize" in path for path in endpoint.options["ignoreChanges"])


def test_endpoint_updates_get_custom_timeouts(trained_runs: dict[Environment, OfflineRun]) -> None:
    endpoint = one(trained_runs[Environment.PROD], SERVING)
    assert endpoint.options["customTimeouts"] == {
        "create": ENDPOINT_TIMEOUTS.create,
        "update": ENDPOINT_TIMEOUTS.update,
        "delete": ENDPOINT_TIMEOUTS.delete,
    }


def test_inference_table_lands_in_the_environments_schema(
    trained_runs: dict[Environment, OfflineRun],
) -> None:
    for env in (Environment.UAT, Environment.PROD):
        table = one(trained_runs[env], SERVING).plain_inputs()["aiGateway"]["inferenceTableConfig"]
        assert table["enabled"] is True
        assert (table["catalogName"], table["schemaName"]) == (f"mlops_{env.value}", "iris")
        assert table["tableNamePrefix"] == f"mlops_{env.value}_iris_classifier"


def test_prod_protects_and_retains_model_and_endpoint(trained_runs: dict[Environment, OfflineRun]) -> None:
    prod = trained_runs[Environment.PROD]
    for type_ in STATEFUL:
        assert one(prod, type_).protect, type_
    for type_ in ("databricks:index/registeredModel:RegisteredModel", SERVING):
        assert one(prod, type_).options["retainOnDelete"], type_


def test_other_environments_stay_disposable(runs: dict[Environment, OfflineRun]) -> None:
    for env in (Environment.SANDBOX, Environment.DEV, Environment.UAT):
        assert [r.name for r in runs[env].resources if r.protect] == [], env


# --- secrets and monitoring ------------------------------------------------------------------------


def test_secret_scope_is_databricks_backed(runs: dict[Environment, OfflineRun]) -> None:
    """Who reads it: tests/stacks/test_access_invariants.py, on the real stacks."""
    for env, run in runs.items():
        scope = one(run, "databricks:index/secretScope:SecretScope").plain_inputs()
        assert scope["backendType"] == "DATABRICKS", env
        assert "keyvaultMetadata" not in scope


def test_every_inconsistency_is_reported_at_once(wheel_path: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        workloads_args(
            Environment.PROD,
            wheel_path,
            deployer_client_id=None,
            failure_notification_emails=("not-an-address",),
        )
    message = str(caught.value)
    for fragment in ("deployer_client_id", "e-mail"):
        assert fragment in message
