"""The bootstrap owns every environment's deployer (issue 25): a deployed environment's is adopted
where it is (import by the id its stack exported), a new one's is created beside the preview
identities; each gets the deployer role and the constrained RBAC administration on its own
environment's subscription, through a provider for that subscription. Settings that would let one
deployer reach another environment or the backend are refused before anything is registered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bootstrap.deployers import adoption_problems
from bootstrap.environment_platforms import environment_platforms, shared_subscription_problems
from bootstrap.plan import bootstrap_dir
from bootstrap.program import LoadedBootstrap, build_bootstrap
from bootstrap.settings import BootstrapSettings
from core.azure_roles import IDENTITY_SELF_ACTIONS, ROLE_DEFINITION_IDS
from core.deployments import PULL_REQUEST_PREVIEWS
from core.environment import Environment
from core.github_oidc import oidc_subject
from core.pulumi_project import BOOTSTRAP_PROJECT
from infra.identity import DELEGATIONS, PINNED_BY_TYPE, Delegate
from stacks.loading import ConfigError
from stacks.offline import OfflineRun, RecordedResource, run_offline, stack_config_from_file

IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
CREDENTIAL = "azure-native:managedidentity:FederatedIdentityCredential"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
PROVIDER = "pulumi:providers:azure-native"
ROOT = Path(__file__).resolve().parents[2]


def _named(run: OfflineRun, type_: str, name: str) -> RecordedResource:
    [resource] = [r for r in run.of_type(type_) if r.name == name]
    return resource


def _subscription_provider(run: OfflineRun, env: Environment) -> RecordedResource:
    return _named(run, PROVIDER, f"subscription-{env}")


def test_a_deployed_environments_deployer_is_adopted_where_it_is(
    bootstrap_run: OfflineRun, bootstrap_settings: BootstrapSettings
) -> None:
    """Import, not create: the same identity CI logs in as today, with the name, group, region and
    tags its environment stack gave it (a difference would fail the import or replace it)."""
    assert bootstrap_settings.deployers, "the example stack adopts deployed environments"
    platforms = environment_platforms(bootstrap_settings.environments)
    for env, ids in bootstrap_settings.deployers.items():
        identity = _named(bootstrap_run, IDENTITY, f"deployer-{env}-identity")
        credential = _named(bootstrap_run, CREDENTIAL, f"deployer-{env}-github-oidc")
        assert identity.options["importId"] == ids.identity_id
        assert (
            credential.options["importId"] == f"{ids.identity_id}/federatedIdentityCredentials/github-{env}"
        )
        inputs = identity.plain_inputs()
        assert (inputs["resourceName"], inputs["resourceGroupName"]) == (
            ids.identity_name,
            ids.resource_group_name,
        )
        assert inputs["location"] == platforms[env].location
        assert inputs["tags"]["environment"] == env
        assert identity.provider.rsplit("::", 1)[0] == _subscription_provider(bootstrap_run, env).urn


def test_a_new_environments_deployer_is_created_beside_the_preview_identities(
    bootstrap_run: OfflineRun, bootstrap_settings: BootstrapSettings
) -> None:
    new = [env for env in bootstrap_settings.environments if env not in bootstrap_settings.deployers]
    assert new == [Environment.SANDBOX]
    identity = _named(bootstrap_run, IDENTITY, "deployer-sandbox-identity")
    assert identity.options["importId"] in (None, "")
    preview = _named(bootstrap_run, IDENTITY, "preview-identity")
    assert identity.plain_inputs()["resourceGroupName"] == preview.plain_inputs()["resourceGroupName"]
    assert identity.plain_inputs()["resourceName"] == "id-mlops-deployer-sandbox"


def test_each_deployer_trusts_its_own_environments_deploy_jobs_only(
    bootstrap_run: OfflineRun, bootstrap_settings: BootstrapSettings
) -> None:
    gh = bootstrap_settings.github
    for env in bootstrap_settings.environments:
        credential = _named(bootstrap_run, CREDENTIAL, f"deployer-{env}-github-oidc").plain_inputs()
        assert credential["subject"] == oidc_subject(gh.owner, gh.repository, env)
        assert credential["federatedIdentityCredentialResourceName"] == f"github-{env}"


def test_each_deployer_holds_its_roles_on_its_own_subscription_only(
    bootstrap_run: OfflineRun, bootstrap_settings: BootstrapSettings
) -> None:
    platforms = environment_platforms(bootstrap_settings.environments)
    for env in bootstrap_settings.environments:
        scope = f"/subscriptions/{platforms[env].subscription_id}"
        provider = _subscription_provider(bootstrap_run, env)
        assert provider.plain_inputs()["subscriptionId"] == platforms[env].subscription_id
        principal = bootstrap_run.exports["environments"][env]["deployerPrincipalId"]
        on_subscriptions = [
            r
            for r in bootstrap_run.of_type(ROLE_ASSIGNMENT)
            if r.plain_inputs()["principalId"] == principal and str(r.plain_inputs()["scope"]).count("/") == 2
        ]
        assert {r.name for r in on_subscriptions} == {
            f"deployer-{env}-subscription-role",
            f"deployer-{env}-rbac-admin",
        }
        role = _named(bootstrap_run, ROLE_DEFINITION, f"deployer-{env}-role").plain_inputs()
        assert role["scope"] == scope
        assert role["assignableScopes"] == [scope]
        [permission] = role["permissions"]
        assert permission["actions"] == ["*"]
        assert set(IDENTITY_SELF_ACTIONS) <= set(permission["notActions"])
        for assignment in on_subscriptions:
            assert assignment.plain_inputs()["scope"] == scope, (env, assignment.name)
            assert assignment.provider.rsplit("::", 1)[0] == provider.urn, (env, assignment.name)
            assert "Contributor" not in str(assignment.plain_inputs()["roleDefinitionId"])


def _write_pairs(condition: str) -> set[tuple[str, str]]:
    write = condition.split(
        " AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'}))", maxsplit=1
    )[0]
    pairs = set()
    for clause in write.split(" OR (@Request")[1:] + write.split(" OR (@Request")[:1]:
        if "RoleDefinitionId]" not in clause:
            continue
        role = clause.split("GuidEquals {", 1)[1].split("}", 1)[0]
        if ":PrincipalId]" in clause:
            pairs.add(
                (
                    role,
                    "id:" + clause.split(":PrincipalId] ForAnyOfAnyValues:GuidEquals {", 1)[1].split("}")[0],
                )
            )
        else:
            kind = clause.split(":PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {'", 1)[1].split(
                "'"
            )[0]
            pairs.add((role, "type:" + kind))
    return pairs


def test_the_delegation_pins_each_role_to_its_principal_and_the_connectors_to_service_principals(
    bootstrap_run: OfflineRun, bootstrap_settings: BootstrapSettings
) -> None:
    """Exactly which pairs are pinned: Reader to the identity that previews the environment, Key
    Vault Secrets Officer to the deployer itself; Storage Blob Data Contributor (the access
    connector, created at the first deploy) to service principals only (docs/security.md)."""
    assert PINNED_BY_TYPE == {Delegate.ACCESS_CONNECTOR: "ServicePrincipal"}
    for env in bootstrap_settings.environments:
        exported = bootstrap_run.exports["environments"][env]
        admin = _named(bootstrap_run, ROLE_ASSIGNMENT, f"deployer-{env}-rbac-admin").plain_inputs()
        assert _write_pairs(str(admin["condition"])) == {
            (ROLE_DEFINITION_IDS["Storage Blob Data Contributor"], "type:ServicePrincipal"),
            (ROLE_DEFINITION_IDS["Reader"], f"id:{exported['previewPrincipalId']}"),
            (ROLE_DEFINITION_IDS["Key Vault Secrets Officer"], f"id:{exported['deployerPrincipalId']}"),
        }, env
        assert len(DELEGATIONS) == 3
        previewer = "preview" if env in PULL_REQUEST_PREVIEWS else "release-preview"
        assert exported["previewPrincipalId"] == _named(
            bootstrap_run, IDENTITY, f"{previewer}-identity"
        ).plain_inputs().get("principalId", exported["previewPrincipalId"])


def test_the_environments_get_their_deployers_ids_and_their_jobs_log_in_as_them(
    bootstrap_run: OfflineRun, bootstrap_settings: BootstrapSettings
) -> None:
    for env in bootstrap_settings.environments:
        exported = bootstrap_run.exports["environments"][env]
        assert exported["deployerPrincipalId"] != exported["previewPrincipalId"]
        assert exported["deployerClientId"] != exported["previewClientId"]


def _platforms(subscriptions: dict[str, str]) -> dict[Environment, Any]:
    platforms = environment_platforms(list(Environment), ROOT)
    return {
        env: platform.model_copy(update={"subscription_id": subscriptions.get(env, platform.subscription_id)})
        for env, platform in platforms.items()
    }


def test_two_environments_sharing_a_subscription_are_refused_naming_the_keys_and_stacks() -> None:
    dev = environment_platforms([Environment.DEV], ROOT)[Environment.DEV].subscription_id
    [problem] = shared_subscription_problems(
        "example-org", "00000000-0000-4000-8000-0000000000b0", _platforms({"uat": dev})
    )
    line = problem.line()
    assert "dev and uat share this subscription" in line
    assert "Pulumi.dev.yaml platform.subscriptionId, Pulumi.uat.yaml platform.subscriptionId" in line
    assert "state backend" not in line


def test_an_environment_in_the_bootstraps_subscription_is_refused() -> None:
    bootstrap = "00000000-0000-4000-8000-0000000000b0"
    [problem] = shared_subscription_problems("example-org", bootstrap, _platforms({"prod": bootstrap}))
    assert "the bootstrap (example-org) and prod share this subscription" in problem.line()
    assert "bootstrap/Pulumi.example-org.yaml" in problem.line()
    assert "the state backend" in problem.line()
    assert shared_subscription_problems("example-org", bootstrap, _platforms({})) == []


def test_the_program_stops_before_registering_anything_when_subscriptions_are_shared(
    bootstrap_settings: BootstrapSettings,
) -> None:

    dev = environment_platforms([Environment.DEV], ROOT)[Environment.DEV].subscription_id
    loaded = LoadedBootstrap(bootstrap_settings, _platforms({"uat": dev}))
    config, _ = stack_config_from_file(bootstrap_dir() / "Pulumi.example-org.yaml", BOOTSTRAP_PROJECT)
    with pytest.raises(ConfigError, match="dev and uat share this subscription"):
        run_offline(
            lambda: build_bootstrap(loaded),
            project=BOOTSTRAP_PROJECT,
            stack="example-org",
            config=config,
            subscription_id=bootstrap_settings.platform.subscription_id,
        )


def test_an_adopted_deployer_outside_its_environments_subscription_is_refused(
    bootstrap_settings: BootstrapSettings,
) -> None:

    platforms = environment_platforms(bootstrap_settings.environments)
    moved = {
        **platforms,
        Environment.DEV: platforms[Environment.DEV].model_copy(
            update={"subscription_id": "55555555-5555-4555-8555-555555555555"}
        ),
    }
    [problem] = adoption_problems(bootstrap_settings, moved)
    assert problem.key == "deployers.dev.identityId"
    assert "pulumi stack output deployerIdentityId -s dev" in problem.message
