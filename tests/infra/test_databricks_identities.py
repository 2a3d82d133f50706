"""Identities, ownership and the first deploy: the rules a real `pulumi up` enforces, on the plan.

Each test names the defect it guards: a plan of the old form fails it.
"""

from __future__ import annotations

from pathlib import Path

from databricks_fixtures.program import ACCOUNT_ID, DEPLOYER_CLIENT_ID, STORAGE_ROLE_URN, plan
from iris_mlops.data import PREDICTIONS_TABLE

from core.environment import Environment
from infra.model_serving import CI_TOKEN_MINUTES
from infra.workload_identity import SERVICE_PRINCIPAL_MANAGER, SERVICE_PRINCIPAL_USER
from stacks.offline import FAKE_OUTPUTS, OfflineRun, RecordedResource, WorkspaceState

SP_ID = FAKE_OUTPUTS["databricks:index/servicePrincipal:ServicePrincipal"]("sp", {})["applicationId"]
DEPLOYERS = "mlops-deployers"
RULE_SET = "databricks:index/accessControlRuleSet:AccessControlRuleSet"
SERVING = "databricks:index/modelServing:ModelServing"
MONITOR = "databricks:index/qualityMonitor:QualityMonitor"
OWNED = (
    "databricks:index/storageCredential:StorageCredential",
    "databricks:index/externalLocation:ExternalLocation",
    "databricks:index/catalog:Catalog",
    "databricks:index/schema:Schema",
    "databricks:index/volume:Volume",
)


def one(run: OfflineRun, type_: str) -> RecordedResource:
    (resource,) = run.of_type(type_)
    return resource


# --- defect 1: run_as needs Service Principal User ---------------------------------------------------


def test_jobs_wait_for_the_rule_set_that_lets_the_deployers_use_the_job_principal(
    runs: dict[Environment, OfflineRun],
) -> None:
    for env, run in runs.items():
        rule_set = one(run, RULE_SET)
        inputs = rule_set.plain_inputs()
        assert inputs["name"] == f"accounts/{ACCOUNT_ID}/servicePrincipals/{SP_ID}/ruleSets/default"
        roles = {rule["role"]: set(rule["principals"]) for rule in inputs["grantRules"]}
        assert roles == {
            SERVICE_PRINCIPAL_MANAGER: {f"groups/{DEPLOYERS}"},
            SERVICE_PRINCIPAL_USER: {f"groups/{DEPLOYERS}", f"servicePrincipals/{DEPLOYER_CLIENT_ID}"},
        }
        for job in run.of_type("databricks:index/job:Job"):
            assert rule_set.urn in job.dependencies, (env, job.name)


# --- defect 2: the CI identity in the workspace --------------------------------------------------------


def test_the_deployer_is_a_workspace_admin_before_it_is_named_in_a_rule(
    runs: dict[Environment, OfflineRun],
) -> None:
    for env, run in runs.items():
        (deployer,) = [
            sp
            for sp in run.of_type("databricks:index/servicePrincipal:ServicePrincipal")
            if sp.plain_inputs().get("applicationId") == DEPLOYER_CLIENT_ID
        ]
        assert deployer.plain_inputs()["displayName"] == f"mlops-{env.value}-deployer"
        member = one(run, "databricks:index/groupMember:GroupMember")
        assert deployer.urn in member.dependencies
        assert member.plain_inputs()["groupId"] == "offline-admins-group-id"  # the `admins` group
        assert deployer.urn in one(run, RULE_SET).dependencies


# --- defect 3: Unity Catalog ownership after the bootstrap --------------------------------------------


def test_every_securable_is_owned_by_the_deployers_not_by_whoever_ran_the_first_up(
    runs: dict[Environment, OfflineRun],
) -> None:
    for env, run in runs.items():
        for type_ in OWNED:
            assert one(run, type_).plain_inputs()["owner"] == DEPLOYERS, (env, type_)
        # The model stays the job principal's: setting an alias needs its owner.
        assert one(run, "databricks:index/registeredModel:RegisteredModel").plain_inputs()["owner"] == SP_ID


# --- defect 4: the endpoint creator reads the model ---------------------------------------------------


def test_deployers_execute_the_model_before_the_endpoint_is_created(
    trained_runs: dict[Environment, OfflineRun],
) -> None:
    for env in (Environment.UAT, Environment.PROD):
        run = trained_runs[env]
        (grants,) = [g for g in run.of_type("databricks:index/grants:Grants") if "model" in g.inputs]
        privileges = {g["principal"]: g["privileges"] for g in grants.plain_inputs()["grants"]}
        assert privileges[DEPLOYERS] == ["EXECUTE"]
        assert grants.urn in one(run, SERVING).dependencies


# --- defect 5: the storage credential after the connector's role --------------------------------------


def test_credential_and_location_wait_for_the_connectors_storage_role(
    runs: dict[Environment, OfflineRun],
) -> None:
    for env, run in runs.items():
        for type_ in OWNED[:2]:
            assert STORAGE_ROLE_URN.format(env=env.value) in one(run, type_).dependencies, (env, type_)


# --- defect 7: the first deploy of a new environment ---------------------------------------------------


def test_a_brand_new_environment_plans_no_endpoint_and_no_monitor(
    runs: dict[Environment, OfflineRun],
) -> None:
    """uat/prod ask for both; no model version and no table exist yet, so neither is registered."""
    for env in (Environment.UAT, Environment.PROD):
        assert runs[env].of_type(SERVING) == []
        assert runs[env].of_type(MONITOR) == []


def test_after_training_the_endpoint_serves_the_champion(wheel_path: Path) -> None:
    for version in (1, 7):
        run = plan(Environment.UAT, wheel_path, workspace=WorkspaceState(champion_version=version))
        (served,) = one(run, SERVING).plain_inputs()["config"]["servedEntities"]
        assert served["entityVersion"] == str(version)
        assert run.of_type(MONITOR) == []  # no predictions table yet: no monitor either


def test_versions_without_a_champion_are_not_served(wheel_path: Path) -> None:
    """uat requires approval: a registered version without the alias must not go live."""
    run = plan(Environment.UAT, wheel_path, workspace=WorkspaceState(champion_version=None))
    assert run.of_type(SERVING) == []


# --- defect 10: every Databricks step fits the CI token -------------------------------------------------


def _minutes(timeout: str) -> float:
    units = {"s": 1 / 60, "m": 1, "h": 60}
    return float(timeout[:-1]) * units[timeout[-1]]


def test_no_custom_timeout_outlives_the_ci_token(trained_runs: dict[Environment, OfflineRun]) -> None:
    timed = 0
    for run in trained_runs.values():
        for resource in run.resources:
            for operation, timeout in resource.options["customTimeouts"].items():
                timed += 1
                assert _minutes(timeout) < CI_TOKEN_MINUTES, (resource.name, operation, timeout)
    assert timed >= 6  # the endpoints' create, update and delete in uat and prod


# --- defect 11: the monitor profiles predictions, not JSON -------------------------------------------


def test_monitor_watches_the_predictions_table_once_it_exists(
    trained_runs: dict[Environment, OfflineRun],
) -> None:
    for env in (Environment.UAT, Environment.PROD):
        inputs = one(trained_runs[env], MONITOR).plain_inputs()
        assert inputs["tableName"] == f"mlops_{env.value}.iris.{PREDICTIONS_TABLE}"
        log = inputs["inferenceLog"]
        assert (log["predictionCol"], log["modelIdCol"], log["timestampCol"]) == (
            "prediction",
            "model_version",
            "scored_at",
        )
