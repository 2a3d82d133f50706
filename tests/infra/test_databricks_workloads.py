"""One environment's Databricks workloads: provider, grants, permissions, serving, secrets, monitor."""

from __future__ import annotations

import re
from typing import Any

import pytest
from harness import TRAINED_CHAMPION, StackPlans, committed_settings
from pydantic import ValidationError

from core.environment import Environment
from infra.databricks_args import DatabricksWorkloadsArgs
from infra.databricks_provider import DatabricksAuthType, auth_type_for
from infra.model_serving import ENDPOINT_TIMEOUTS, SERVED_VERSION_PATH
from stacks.offline import FAKE_OUTPUTS, OfflineRun, RecordedResource
from stacks.projects import ProjectSettings

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
SERVED = [e for e in Environment if committed_settings(e).databricks.create_serving_endpoint]


def one(run: OfflineRun, type_: str) -> RecordedResource:
    (resource,) = run.of_type(type_)
    return resource


def by_project(run: OfflineRun, type_: str) -> dict[ProjectSettings, RecordedResource]:
    """The one resource of a type each ML project of the stack has (``databricks-<name>-...``)."""
    found: dict[ProjectSettings, RecordedResource] = {}
    for project in committed_settings(run.stack).projects:
        (found[project],) = [
            r for r in run.of_type(type_) if r.name.startswith(f"databricks-{project.name}-")
        ]
    return found


def granted(run: OfflineRun, principal: str) -> set[str]:
    """Every Unity Catalog privilege ``principal`` holds anywhere in the run."""
    return {
        privilege
        for resource in run.of_type(GRANTS)
        for grant in resource.plain_inputs()["grants"]
        if grant["principal"] == principal
        for privilege in grant["privileges"]
    }


def acl_of(resource: RecordedResource) -> dict[str, str]:
    controls = resource.plain_inputs()["accessControls"]
    return {c.get("groupName") or c["servicePrincipalName"]: c["permissionLevel"] for c in controls}


# --- provider (docs/traps.md: explicit-provider) ------------------------------------------------------------


def test_every_databricks_resource_uses_the_explicit_provider(plans: dict[Environment, OfflineRun]) -> None:
    for env, run in plans.items():
        provider = one(run, PROVIDER)
        databricks_resources = [r for r in run.resources if r.type.startswith("databricks:")]
        assert databricks_resources, env
        for resource in databricks_resources:
            assert resource.provider.startswith(provider.urn + "::"), (env, resource.name, resource.provider)


def test_provider_is_built_from_the_workspace_outputs_with_explicit_auth(
    plans: dict[Environment, OfflineRun],
) -> None:
    """A person's preview (here) authenticates with the Azure CLI; CI's with OIDC
    (tests/stacks/test_wiring.py, test_ci_uses_github_oidc_with_the_deployer_identity)."""
    for env, run in plans.items():
        inputs = one(run, PROVIDER).plain_inputs()
        assert inputs["host"] == run.exports["workspaceUrl"], env
        assert inputs["host"].startswith("https://adb-")
        assert inputs["azureWorkspaceResourceId"] == run.exports["workspaceId"], env
        assert inputs["authType"] == DatabricksAuthType.AZURE_CLI.value
        assert "azureClientId" not in inputs


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, DatabricksAuthType.AZURE_CLI),
        ({"GITHUB_ACTIONS": "true"}, DatabricksAuthType.AZURE_CLI),  # no id-token permission: no OIDC
        (
            {"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x"},
            DatabricksAuthType.GITHUB_OIDC_AZURE,
        ),
        # The deploy job declares its login (pulumi-up.yml): az, logged in as the deployer.
        (
            {
                "GITHUB_ACTIONS": "true",
                "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x",
                "DATABRICKS_AUTH_TYPE": "azure-cli",
            },
            DatabricksAuthType.AZURE_CLI,
        ),
        ({"DATABRICKS_AUTH_TYPE": "github-oidc-azure"}, DatabricksAuthType.GITHUB_OIDC_AZURE),
    ],
)
def test_auth_type_is_oidc_only_inside_github_actions_with_an_id_token(
    environ: dict[str, str], expected: DatabricksAuthType
) -> None:
    assert auth_type_for(environ) is expected


def test_a_declared_auth_type_the_provider_does_not_take_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"DATABRICKS_AUTH_TYPE='pat'.*azure-cli, github-oidc-azure"):
        auth_type_for({"DATABRICKS_AUTH_TYPE": "pat"})


# --- Unity Catalog and grants (docs/traps.md: authoritative-grants) -----------------------------------------


def test_catalog_lives_on_the_environments_external_location(plans: dict[Environment, OfflineRun]) -> None:
    for env, run in plans.items():
        credential = one(run, "databricks:index/storageCredential:StorageCredential").plain_inputs()
        location = one(run, "databricks:index/externalLocation:ExternalLocation").plain_inputs()
        catalog = one(run, "databricks:index/catalog:Catalog").plain_inputs()
        assert credential["azureManagedIdentity"]["accessConnectorId"] == run.exports["accessConnectorId"]
        assert location["credentialName"] == credential["name"] == f"mlops-{env.value}-uc"
        assert catalog["storageRoot"] == location["url"] == run.exports["ucStorageRoot"]
        assert run.exports["ucStorageRoot"].startswith("abfss://unity-catalog@stmlops")
        assert catalog["name"] == committed_settings(env).databricks.catalog
        assert catalog["isolationMode"] == "ISOLATED"
        for project, volume in by_project(run, "databricks:index/volume:Volume").items():
            inputs = volume.plain_inputs()
            assert (inputs["name"], inputs["schemaName"], inputs["volumeType"]) == (
                "artifacts",
                project.schema_,
                "MANAGED",
            )


# --- identity, model and workspace permissions ------------------------------------------------------------


def test_registered_model_is_owned_by_the_job_principal(plans: dict[Environment, OfflineRun]) -> None:
    for env, run in plans.items():
        catalog = committed_settings(env).databricks.catalog
        for project, model in by_project(run, "databricks:index/registeredModel:RegisteredModel").items():
            inputs = model.plain_inputs()
            assert inputs["owner"] == SP_ID
            assert (inputs["catalogName"], inputs["schemaName"], inputs["name"]) == (
                catalog,
                project.schema_,
                project.model_name,
            )
            assert (
                run.exports["projects"][project.name]["registeredModelName"]
                == f"{catalog}.{project.schema_}.{project.model_name}"
            )


def test_job_principal_cannot_create_clusters(plans: dict[Environment, OfflineRun]) -> None:
    principals = {
        p.plain_inputs()["displayName"]: p.plain_inputs()
        for p in plans[Environment.DEV].of_type("databricks:index/servicePrincipal:ServicePrincipal")
    }
    assert set(principals) == {"mlops-dev-jobs", "mlops-dev-deployer", "mlops-dev-preview"}
    assert all(p["allowClusterCreate"] is False for p in principals.values())
    assert "applicationId" not in principals["mlops-dev-jobs"]  # Databricks-managed


def test_the_preview_identity_reads_the_workspace_and_can_do_nothing_else(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    """Read-only: view/read ACLs, BROWSE on the catalog, no compute, no SQL, in every environment."""
    read_levels = {"CAN_VIEW", "CAN_READ"}
    for env, run in trained_plans.items():
        preview_id = committed_settings(env).bootstrap.preview_client_id
        [preview] = [
            p.plain_inputs()
            for p in run.of_type("databricks:index/servicePrincipal:ServicePrincipal")
            if p.plain_inputs().get("applicationId") == preview_id
        ]
        assert (preview["allowClusterCreate"], preview["allowInstancePoolCreate"]) == (False, False)
        assert preview["databricksSqlAccess"] is False
        levels = {acl_of(p).get(preview_id) for p in run.of_type(PERMISSIONS)}
        assert levels - {None} <= read_levels, env
        assert granted(run, preview_id) == {"BROWSE"}, env


# --- serving, planned after a training run set the champion ------------------------------------------
# (docs/traps.md: served-version, endpoint-round-trip, prod-serving-protection)


def test_an_endpoint_and_a_monitor_only_where_the_stack_asks(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    """An environment that asks for neither (sandbox) deploys with no endpoint and no monitor."""
    assert set(SERVED) != set(Environment), "no stack left without an endpoint"
    for env, run in trained_plans.items():
        databricks = committed_settings(env).databricks
        projects = len(committed_settings(env).projects)
        assert len(run.of_type(SERVING)) == (projects if databricks.create_serving_endpoint else 0), env
        assert len(run.of_type(MONITOR)) == (projects if databricks.model_monitoring else 0), env


def test_endpoint_serves_the_uc_model_sized_as_the_project_says(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    for env in SERVED:
        run = trained_plans[env]
        catalog = committed_settings(env).databricks.catalog
        for project, endpoint in by_project(run, SERVING).items():
            inputs = endpoint.plain_inputs()
            (served,) = inputs["config"]["servedEntities"]
            assert served["entityName"] == f"{catalog}.{project.schema_}.{project.model_name}"
            assert (served["workloadSize"], served["scaleToZeroEnabled"]) == (
                project.serving_workload_size,
                project.serving_scale_to_zero,
            )
            assert inputs["name"] == run.exports["projects"][project.name]["servingEndpointName"]
        assert run.exports["projects"]["iris"]["servingEndpointName"] == f"mlops-{env.value}-iris-classifier"
    # prod answers at once: its endpoints never scale to zero.
    assert not any(p.serving_scale_to_zero for p in committed_settings(Environment.PROD).projects)


def test_pulumi_leaves_the_served_version_to_the_deploy_task(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    for env in SERVED:
        for endpoint in trained_plans[env].of_type(SERVING):
            assert endpoint.options["ignoreChanges"] == [SERVED_VERSION_PATH]
            # The ignored path must name a real engine input, or Pulumi would silently ignore nothing.
            value: Any = endpoint.plain_inputs()
            for step in re.findall(r"[A-Za-z]+|\[\d+\]", SERVED_VERSION_PATH):
                value = value[int(step[1:-1])] if step.startswith("[") else value[step]
            assert value == str(TRAINED_CHAMPION)  # the champion, not a hard-coded 1
            # Only the version is left alone: the size stays Pulumi's.
            assert not any("workloadSize" in path for path in endpoint.options["ignoreChanges"])


def test_endpoint_updates_get_custom_timeouts(trained_plans: dict[Environment, OfflineRun]) -> None:
    for env in SERVED:
        for endpoint in trained_plans[env].of_type(SERVING):
            assert endpoint.options["customTimeouts"] == {
                "create": ENDPOINT_TIMEOUTS.create,
                "update": ENDPOINT_TIMEOUTS.update,
                "delete": ENDPOINT_TIMEOUTS.delete,
            }


def test_inference_table_lands_in_the_projects_schema(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    for env in SERVED:
        catalog = committed_settings(env).databricks.catalog
        for project, endpoint in by_project(trained_plans[env], SERVING).items():
            table = endpoint.plain_inputs()["aiGateway"]["inferenceTableConfig"]
            assert table["enabled"] is True
            assert (table["catalogName"], table["schemaName"]) == (catalog, project.schema_)
            assert table["tableNamePrefix"] == f"{catalog}_{project.model_name}"


def test_stateful_objects_are_protected_and_retained_exactly_where_the_stack_says(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    """prod protects and retains the model and the endpoint; the other stacks stay disposable."""
    assert committed_settings(Environment.PROD).protection.protect_stateful
    for env, run in trained_plans.items():
        protection = committed_settings(env).protection
        databricks = [r for r in run.resources if r.type.startswith("databricks:")]
        protected = {r.type for r in databricks if r.protect}
        retained = {r.type for r in databricks if r.options["retainOnDelete"]}
        if protection.protect_stateful:
            assert protected >= set(STATEFUL), env
        else:  # nothing at all, Azure's or GitHub's either
            assert [r.name for r in run.resources if r.protect] == [], env
        kept = {"databricks:index/registeredModel:RegisteredModel", SERVING}
        assert (retained >= kept) if protection.retain_on_delete else (retained == set()), env


# --- secrets and monitoring ------------------------------------------------------------------------


def test_secret_scope_is_databricks_backed(plans: dict[Environment, OfflineRun]) -> None:
    """Who reads it: tests/stacks/test_access_invariants.py, on the real stacks."""
    for env, run in plans.items():
        scope = one(run, "databricks:index/secretScope:SecretScope").plain_inputs()
        assert scope["backendType"] == "DATABRICKS", env
        assert "keyvaultMetadata" not in scope


def test_every_inconsistency_is_reported_at_once(
    plan_with: StackPlans, plans: dict[Environment, OfflineRun]
) -> None:
    """The args the wiring built for prod, with two mistakes a component user could make."""
    wired = plan_with.workloads_args(plans[Environment.PROD])
    with pytest.raises(ValidationError) as caught:
        DatabricksWorkloadsArgs.model_validate(
            {
                **dict(wired),
                "auth_type": DatabricksAuthType.GITHUB_OIDC_AZURE,
                "deployer_client_id": None,
                "failure_notification_emails": ("not-an-address",),
            }
        )
    message = str(caught.value)
    for fragment in ("deployer_client_id", "e-mail"):
        assert fragment in message
