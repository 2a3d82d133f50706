"""Identities, ownership and the first deploy: the rules a real `pulumi up` enforces, on the plan.

Each test names the defect it guards: a plan of the old form fails it.
"""

from __future__ import annotations

import itertools

from harness import VARIANT_CHAMPION, committed_settings

from core.azure_roles import ROLE_PROPAGATION_MINUTES
from core.environment import ENVIRONMENT_PROPERTY, Environment
from infra.model_serving import CI_TOKEN_MINUTES
from infra.workload_identity import SERVICE_PRINCIPAL_MANAGER, SERVICE_PRINCIPAL_USER
from stacks.offline import FAKE_OUTPUTS, OfflineRun, RecordedResource, fake_id
from stacks.projects import predictions_table

SP_ID = FAKE_OUTPUTS["databricks:index/servicePrincipal:ServicePrincipal"]("sp", {})["applicationId"]
# The deployer managed identity's client id, as the platform's identity reports it.
STORAGE_ROLE = "platform-databricks-connector-blob-contributor"  # the access connector's


def deployers(env: Environment) -> str:
    """The environment's own deployers group (one per environment: docs/security.md)."""
    return committed_settings(env).databricks.deployers_group


RULE_SET = "databricks:index/accessControlRuleSet:AccessControlRuleSet"
GRANTS = "databricks:index/grants:Grants"
SERVING = "databricks:index/modelServing:ModelServing"
MONITOR = "databricks:index/qualityMonitor:QualityMonitor"
SLEEP = "time:index/sleep:Sleep"
OWNED = (
    "databricks:index/storageCredential:StorageCredential",
    "databricks:index/externalLocation:ExternalLocation",
    "databricks:index/catalog:Catalog",
    "databricks:index/schema:Schema",
    "databricks:index/volume:Volume",
)
# The stacks that ask for endpoints, and for monitors.
SERVED = [e for e in Environment if committed_settings(e).databricks.create_serving_endpoint]
MONITORED = [e for e in Environment if committed_settings(e).databricks.model_monitoring]


def one(run: OfflineRun, type_: str) -> RecordedResource:
    (resource,) = run.of_type(type_)
    return resource


def per_project(run: OfflineRun, type_: str, name_part: str = "") -> dict[str, RecordedResource]:
    """The one resource of a type (named with ``name_part``) each ML project has, by project."""
    found = {
        project.name: [
            r
            for r in run.of_type(type_)
            if r.name.startswith(f"databricks-{project.name}-") and name_part in r.name
        ]
        for project in committed_settings(run.stack).projects
    }
    assert all(len(resources) == 1 for resources in found.values()), (type_, name_part, found)
    return {name: resources[0] for name, resources in found.items()}


# --- defect 1: run_as needs Service Principal User ---------------------------------------------------


def test_jobs_wait_for_the_rule_set_that_lets_the_deployers_use_the_job_principal(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        rule_set = one(run, RULE_SET)
        inputs = rule_set.plain_inputs()
        account = committed_settings(env).databricks.account_id
        assert inputs["name"] == f"accounts/{account}/servicePrincipals/{SP_ID}/ruleSets/default"
        roles = {rule["role"]: set(rule["principals"]) for rule in inputs["grantRules"]}
        assert roles == {
            SERVICE_PRINCIPAL_MANAGER: {f"groups/{deployers(env)}"},
            SERVICE_PRINCIPAL_USER: {
                f"groups/{deployers(env)}",
                f"servicePrincipals/{run.exports['deployerClientId']}",
            },
        }
        for job in run.of_type("databricks:index/job:Job"):
            assert rule_set.urn in job.dependencies, (env, job.name)


# --- defect 2: the CI identity in the workspace --------------------------------------------------------


def test_the_deployer_is_a_workspace_admin_before_it_is_named_in_a_rule(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        (deployer,) = [
            sp
            for sp in run.of_type("databricks:index/servicePrincipal:ServicePrincipal")
            if sp.plain_inputs().get("applicationId") == run.exports["deployerClientId"]
        ]
        assert deployer.plain_inputs()["displayName"] == f"mlops-{env.value}-deployer"
        member = one(run, "databricks:index/groupMember:GroupMember")
        assert deployer.urn in member.dependencies
        assert member.plain_inputs()["groupId"] == "offline-admins-group-id"  # the `admins` group
        assert deployer.urn in one(run, RULE_SET).dependencies


# --- defect 3: Unity Catalog ownership after the bootstrap --------------------------------------------


def test_every_securable_is_owned_by_the_deployers_not_by_whoever_ran_the_first_up(
    plans: dict[Environment, OfflineRun],
) -> None:
    for env, run in plans.items():
        securables = [r for type_ in OWNED for r in run.of_type(type_)]
        assert {r.type for r in securables} == set(OWNED), env
        for securable in securables:
            assert securable.plain_inputs()["owner"] == deployers(env), (env, securable.name)
        # Each model stays the job principal's: setting an alias needs its owner.
        models = per_project(run, "databricks:index/registeredModel:RegisteredModel")
        assert {model.plain_inputs()["owner"] for model in models.values()} == {SP_ID}, env


# --- defect 4: the endpoint creator reads the model ---------------------------------------------------


def test_deployers_execute_the_model_before_the_endpoint_is_created(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    assert SERVED
    for env in SERVED:
        run = trained_plans[env]
        endpoints = per_project(run, SERVING)
        for project, grants in per_project(run, GRANTS, "-model-").items():
            privileges = {g["principal"]: g["privileges"] for g in grants.plain_inputs()["grants"]}
            assert privileges[deployers(env)] == ["EXECUTE"], (env, project)
            assert grants.urn in endpoints[project].dependencies, (env, project)


# --- defect 5: the storage credential after the connector's role (issue 24, defect 6: and after --
# --- the role has propagated) ------------------------------------------------------------------


def test_credential_and_location_wait_for_the_connectors_storage_role_to_propagate(
    plans: dict[Environment, OfflineRun],
) -> None:
    """Creating either validates the connector's access to the storage, which Azure honours minutes
    after the role assignment returns: both come after a wait that comes after the role."""
    for env, run in plans.items():
        role = run.named(STORAGE_ROLE)
        wait = one(run, SLEEP)
        assert role.urn in wait.dependencies, env
        assert wait.plain_inputs()["createDuration"] == f"{ROLE_PROPAGATION_MINUTES}m", env
        for type_ in OWNED[:2]:
            assert wait.urn in one(run, type_).dependencies, (env, type_)


def test_the_wait_reruns_only_for_a_new_role_assignment(
    plans: dict[Environment, OfflineRun],
    trained_plans: dict[Environment, OfflineRun],
    switched_plan: OfflineRun,
) -> None:
    """A Sleep waits when it is created and again only when it is replaced: its one trigger is the
    assignment's id, so the next run, the next week's and one with other settings plan it unchanged."""
    for env, run in plans.items():
        role = run.named(STORAGE_ROLE)
        wait = one(run, SLEEP)
        assert wait.plain_inputs()["triggers"] == {"roleAssignmentId": fake_id(role.type, role.name)}, env
        assert wait.options["replaceOnChanges"] == [], env
        assert one(trained_plans[env], SLEEP).plain_inputs() == wait.plain_inputs(), env
    assert one(switched_plan, SLEEP).plain_inputs() == one(plans[Environment.DEV], SLEEP).plain_inputs()


# --- defect 7: the first deploy of a new environment ---------------------------------------------------


def test_a_brand_new_environment_plans_no_endpoint_and_no_monitor(
    plans: dict[Environment, OfflineRun],
) -> None:
    """dev, uat and prod ask for endpoints, uat and prod for monitors; no model has a champion and
    no table exists yet (a registered version without the alias must not go live), so neither is
    registered."""
    assert SERVED
    assert MONITORED
    for run in plans.values():
        assert run.of_type(SERVING) == []
        assert run.of_type(MONITOR) == []


def test_after_training_the_endpoint_serves_the_champion(prod_variant_plan: OfflineRun) -> None:
    """Trained (champion VARIANT_CHAMPION), not yet scored: trained_plans has champion 3."""
    endpoints = per_project(prod_variant_plan, SERVING)
    for endpoint in endpoints.values():
        (served,) = endpoint.plain_inputs()["config"]["servedEntities"]
        assert served["entityVersion"] == str(VARIANT_CHAMPION)
    assert prod_variant_plan.of_type(MONITOR) == []  # no predictions table yet: no monitor either


# --- defect 10: every Databricks step fits the CI token -------------------------------------------------


def _minutes(timeout: str) -> float:
    units = {"s": 1 / 60, "m": 1, "h": 60}
    return float(timeout[:-1]) * units[timeout[-1]]


def test_no_custom_timeout_outlives_the_ci_token(trained_plans: dict[Environment, OfflineRun]) -> None:
    timed = 0
    for run in trained_plans.values():
        for resource in run.resources:
            for operation, timeout in resource.options["customTimeouts"].items():
                timed += 1
                assert _minutes(timeout) < CI_TOKEN_MINUTES, (resource.name, operation, timeout)
    assert timed >= 3 * len(SERVED)  # each endpoint's create, update and delete


# --- defect 11: the monitor profiles predictions, not JSON -------------------------------------------


def test_monitor_watches_the_predictions_table_once_it_exists(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    assert MONITORED
    for env in MONITORED:
        settings = committed_settings(env)
        for project, monitor in per_project(trained_plans[env], MONITOR).items():
            inputs = monitor.plain_inputs()
            (entry,) = [p for p in settings.projects if p.name == project]
            table = f"{settings.databricks.catalog}.{entry.schema_}.{predictions_table(project)}"
            assert inputs["tableName"] == table, (env, project)
            log = inputs["inferenceLog"]
            assert (log["predictionCol"], log["modelIdCol"], log["timestampCol"]) == (
                "prediction",
                "model_version",
                "scored_at",
            )


# --- issue 29, finding 4: one environment's owners own nothing of another's ---------------------------


def test_no_principal_owns_unity_catalog_objects_of_two_environments(
    plans: dict[Environment, OfflineRun],
) -> None:
    """Owning a catalog lets one rebind it to another workspace and overwrite what its jobs install:
    a group owning two environments' securables carries one environment's deployer into the other."""
    owners: dict[Environment, set[str]] = {}
    for env, run in plans.items():
        securables = [r for type_ in OWNED for r in run.of_type(type_)]
        managers = {
            principal.removeprefix("groups/")
            for rule in one(run, RULE_SET).plain_inputs()["grantRules"]
            if rule["role"] == SERVICE_PRINCIPAL_MANAGER
            for principal in rule["principals"]
        }
        owners[env] = {str(r.plain_inputs()["owner"]) for r in securables} | managers
    for first, second in itertools.combinations(Environment, 2):
        assert not owners[first] & owners[second], (first, second, owners[first] & owners[second])


# --- issue 23, defect 6: the jobs learn their environment from their catalog, not from `env` -----------


def test_each_environments_catalog_names_its_environment_for_its_jobs_and_only_its_deployers_own_it(
    plans: dict[Environment, OfflineRun],
) -> None:
    """The wheel's tasks trust the catalog's ENVIRONMENT_PROPERTY over a run's `env` parameter
    (mlops_framework.catalog_environment): set by Pulumi on the catalog its jobs are given, owned by the
    deployers (who alone may update it), and readable by the job principal (USE CATALOG)."""
    for env, run in plans.items():
        catalog = one(run, "databricks:index/catalog:Catalog").plain_inputs()
        assert catalog["properties"] == {ENVIRONMENT_PROPERTY: env.value}, env
        assert catalog["owner"] == committed_settings(env).databricks.deployers_group, env
        [catalog_grants] = [g.plain_inputs() for g in run.of_type(GRANTS) if g.plain_inputs().get("catalog")]
        granted = {g["principal"]: set(g["privileges"]) for g in catalog_grants["grants"]}
        assert all(privileges <= {"USE_CATALOG", "BROWSE"} for privileges in granted.values()), (env, granted)
        given = {
            task["pythonWheelTask"]["namedParameters"]["catalog"]
            for job in run.of_type("databricks:index/job:Job")
            for task in job.plain_inputs()["tasks"]
        }
        assert given == {catalog["name"]}, env  # the catalog the jobs' tasks read it from
