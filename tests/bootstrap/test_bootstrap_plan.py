"""The bootstrap plan: every resource the issue lists is there, hardened, and nothing is publicly reachable.

Runs the real bootstrap program under the offline engine with ``bootstrap/Pulumi.example-org.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from bootstrap_support import grants_of, only, role_name
from urn_snapshots import compare_snapshot

from bootstrap.repository import PR_CHECKS
from bootstrap.settings import BootstrapSettings
from core.deployments import PROD_PREVIEW, PULL_REQUEST_PREVIEWS, RELEASE_PREVIEW_WORKFLOW, RELEASE_PREVIEWS
from core.environment import PRODUCTION_LIKE, Environment
from core.github_oidc import oidc_subject, pull_request_subject
from infra.bootstrap_access import DEPLOYER_ROLES, PREVIEW_ROLES
from infra.bootstrap_interface import interface_keys
from policy.check_plan import evaluate, mandatory
from policy.identity import BOOTSTRAP_ROLE_IDS
from stacks.offline import OfflineRun, RecordedResource, fake_guid
from stacks.offline_fakes import fake_id

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "infra" / "snapshots" / "urns-bootstrap-example-org.txt"
STORAGE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
FEDERATED = "azure-native:managedidentity:FederatedIdentityCredential"
RULESET = "github:index/repositoryRuleset:RepositoryRuleset"
REPOSITORY = "example-org/mlops-platform"
# Roles that only read (control plane) or only read/decrypt (data plane): all a preview may hold.
READ_ONLY_ROLES = frozenset({"Reader", "Storage Blob Data Reader", "Key Vault Crypto User"})


def _settings() -> BootstrapSettings:
    document = yaml.safe_load((ROOT / "bootstrap" / "Pulumi.example-org.yaml").read_text(encoding="utf-8"))
    config = document["config"]
    values = {
        k.removeprefix("mlops-bootstrap:"): v for k, v in config.items() if k.startswith("mlops-bootstrap:")
    }
    return BootstrapSettings.model_validate({**values, "stack": "example-org"})


def _id_of(run: OfflineRun, type_: str, name: str) -> str:
    assert run.named(name).type == type_
    return fake_id(type_, name)


def test_state_backend_is_entra_only_versioned_and_soft_deleted(bootstrap_run: OfflineRun) -> None:
    account = only(bootstrap_run, STORAGE)
    assert account["enableHttpsTrafficOnly"] is True
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    # The azblob backend authenticates with Entra ID when no key is set (infra/state_backend.py).
    assert account["allowSharedKeyAccess"] is False
    assert account["defaultToOAuthAuthentication"] is True
    service = only(bootstrap_run, BLOB_SERVICE)
    assert service["isVersioningEnabled"] is True
    assert service["deleteRetentionPolicy"] == {"enabled": True, "days": 30}
    assert service["containerDeleteRetentionPolicy"] == {"enabled": True, "days": 30}
    # One private container per environment: a deployer is granted its own only (core/backend.py).
    containers = {
        r.plain_inputs()["containerName"]: r.plain_inputs() for r in bootstrap_run.of_type(CONTAINER)
    }
    assert set(containers) == {f"pulumi-state-{env}" for env in Environment}
    assert {c["publicAccess"] for c in containers.values()} == {"None"}
    for env in Environment:
        assert bootstrap_run.exports["environments"][env]["backendUrl"] == (
            f"azblob://pulumi-state-{env}?storage_account={account['accountName']}"
        )


def test_stateful_resources_are_protected(bootstrap_run: OfflineRun) -> None:
    for type_ in (STORAGE, CONTAINER, VAULT, KEY, "azure-native:resources:ResourceGroup"):
        for resource in bootstrap_run.of_type(type_):
            assert resource.protect, resource.name
            assert resource.options["retainOnDelete"], resource.name


def test_secrets_provider_vault_uses_rbac_and_purge_protection_with_one_key_per_environment(
    bootstrap_run: OfflineRun,
) -> None:
    vault = only(bootstrap_run, VAULT)["properties"]
    assert vault["enableRbacAuthorization"] is True
    assert vault["enablePurgeProtection"] is True
    assert vault["enableSoftDelete"] is True
    keys = {r.plain_inputs()["keyName"]: r.plain_inputs()["properties"] for r in bootstrap_run.of_type(KEY)}
    assert set(keys) == {f"stack-{env}" for env in Environment}
    for properties in keys.values():
        assert properties["kty"] == "RSA"
        assert properties["keyOps"] == ["encrypt", "decrypt"]  # what gocloud.dev's keeper calls
    vault_name = only(bootstrap_run, VAULT)["vaultName"]
    assert bootstrap_run.exports["secretsProviders"] == {
        env.value: f"azurekeyvault://{vault_name}.vault.azure.net/keys/stack-{env}" for env in Environment
    }


def _identity(run: OfflineRun, name: str) -> RecordedResource:
    return run.named(f"{name}-identity")


def _principal(run: OfflineRun, name: str) -> str:
    return fake_guid("principal", _identity(run, name).name)


def _backend_of(run: OfflineRun, envs: tuple[Environment, ...], roles: object) -> list[tuple[str, str]]:
    state, key = roles.state, roles.key  # type: ignore[attr-defined]
    return sorted(
        [(state, _id_of(run, CONTAINER, f"state-container-{env}")) for env in envs]
        + [(key, _id_of(run, KEY, f"state-key-{env}")) for env in envs]
    )


def test_each_preview_identity_trusts_one_subject_that_pins_mains_workflow(bootstrap_run: OfflineRun) -> None:
    credentials = {
        c.name: c.plain_inputs()
        for c in bootstrap_run.of_type(FEDERATED)
        if not c.name.startswith("deployer-")
    }
    owner, repository = REPOSITORY.split("/")
    assert credentials["preview-github-oidc"]["subject"] == pull_request_subject(owner, repository)
    assert credentials["release-preview-github-oidc"]["subject"] == oidc_subject(
        owner, repository, PROD_PREVIEW, RELEASE_PREVIEW_WORKFLOW
    )
    assert len(credentials) == 2
    for credential in credentials.values():
        assert credential["issuer"] == "https://token.actions.githubusercontent.com"
        assert credential["audiences"] == ["api://AzureADTokenExchange"]
    assert _identity(bootstrap_run, "preview").plain_inputs()["resourceName"] == "id-mlops-preview"


def test_a_pull_requests_identity_reads_and_decrypts_sandbox_and_dev_only(bootstrap_run: OfflineRun) -> None:
    """Issue 29, finding 1: a pull request's code runs with this identity's token."""
    grants = grants_of(bootstrap_run, _principal(bootstrap_run, "preview"))
    assert {role for role, _ in grants} <= READ_ONLY_ROLES
    assert grants == _backend_of(bootstrap_run, PULL_REQUEST_PREVIEWS, PREVIEW_ROLES)
    assert not set(PULL_REQUEST_PREVIEWS) & PRODUCTION_LIKE, "never a uat or prod key"


def test_the_release_preview_identity_reads_and_decrypts_uat_and_prod_only(bootstrap_run: OfflineRun) -> None:
    grants = grants_of(bootstrap_run, _principal(bootstrap_run, "release-preview"))
    assert {role for role, _ in grants} <= READ_ONLY_ROLES
    assert grants == _backend_of(bootstrap_run, RELEASE_PREVIEWS, PREVIEW_ROLES)


def test_each_deployer_gets_its_own_environments_state_and_key_only(bootstrap_run: OfflineRun) -> None:
    """Issue 29, finding 8: dev's deployer can neither rewrite prod's state nor decrypt its secrets."""
    for env in _settings().environments:
        principal = bootstrap_run.exports["environments"][env]["deployerPrincipalId"]
        backend = [grant for grant in grants_of(bootstrap_run, principal) if grant[1].count("/") != 2]
        assert backend == _backend_of(bootstrap_run, (env,), DEPLOYER_ROLES), env


def test_operators_get_every_environments_state_and_key_so_people_can_deploy_by_hand(
    bootstrap_run: OfflineRun,
) -> None:
    operators = _settings().operators
    assert operators, "the example stack names an operator group"
    for operator in operators:
        assert grants_of(bootstrap_run, operator) == _backend_of(
            bootstrap_run, tuple(Environment), DEPLOYER_ROLES
        )


def test_every_grant_is_a_data_plane_backend_role_or_a_deployers_on_its_subscription(
    bootstrap_run: OfflineRun,
) -> None:
    assignments = bootstrap_run.of_type("azure-native:authorization:RoleAssignment")
    on_subscriptions = [r for r in assignments if str(r.plain_inputs()["scope"]).count("/") == 2]
    roles = {role_name(r) for r in assignments if r not in on_subscriptions}
    assert roles == {PREVIEW_ROLES.state, DEPLOYER_ROLES.state, PREVIEW_ROLES.key}
    assert sorted(r.name for r in on_subscriptions) == sorted(
        f"deployer-{env}-{key}"
        for env in _settings().environments
        for key in ("subscription-role", "rbac-admin")
    )


def test_nothing_is_publicly_reachable(bootstrap_run: OfflineRun) -> None:
    """No anonymous path: no public blobs, no account keys, no vault access policies, no public containers."""
    for account in bootstrap_run.of_type(STORAGE):
        inputs = account.plain_inputs()
        assert (inputs["allowBlobPublicAccess"], inputs["allowSharedKeyAccess"]) == (False, False)
    for container in bootstrap_run.of_type(CONTAINER):
        assert container.plain_inputs()["publicAccess"] == "None"
    for vault in bootstrap_run.of_type(VAULT):
        properties = vault.plain_inputs()["properties"]
        assert properties["enableRbacAuthorization"] is True
        assert "accessPolicies" not in properties


def test_policy_pack_passes_the_bootstrap_plan(bootstrap_run: OfflineRun) -> None:
    violations = evaluate(bootstrap_run.resources, stack=bootstrap_run.stack, github_repository=REPOSITORY)
    assert mandatory(violations) == [], "\n".join(map(str, violations))
    assert violations == []  # no advisory either


def test_the_environments_interface_is_exported(bootstrap_run: OfflineRun) -> None:
    """Each environment gets the identity that previews it: a pull request's for sandbox and dev,
    the release preview's for uat and prod."""
    for env in Environment:
        exported = bootstrap_run.exports["environments"][env]
        assert set(interface_keys()) <= set(exported)
        previewer = "preview" if env in PULL_REQUEST_PREVIEWS else "release-preview"
        assert exported["previewPrincipalId"] == _principal(bootstrap_run, previewer)


def test_the_pack_allows_the_bootstrap_exactly_the_roles_it_grants() -> None:
    """The pack's allowed list names roles; the ids come from core.azure_roles, like the grants'."""
    assert set(BOOTSTRAP_ROLE_IDS.values()) == {PREVIEW_ROLES.state, DEPLOYER_ROLES.state, PREVIEW_ROLES.key}


def test_urns_match_the_committed_snapshot(bootstrap_run: OfflineRun) -> None:
    compare_snapshot(SNAPSHOT, bootstrap_run.resources)


def _needs(job: dict[str, object]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)  # type: ignore[call-overload]


def test_pr_checks_are_the_pull_request_workflows_job_names() -> None:
    """The ruleset requires exactly the checks pr.yml reports (matrix jobs expanded). A matrix read
    from an earlier job (one job per ML project) is not known here: a job that needs it and runs
    always (failing unless all of it succeeded) is required instead."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pr.yml").read_text(encoding="utf-8"))
    jobs: dict[str, dict[str, object]] = workflow["jobs"]
    names: list[str] = []
    for key, job in jobs.items():
        matrix = (job.get("strategy") or {}).get("matrix") or {}  # type: ignore[attr-defined]
        if any(isinstance(values, str) for values in matrix.values()):  # ${{ fromJSON(...) }}
            assert any(key in _needs(other) and other.get("if") == "always()" for other in jobs.values()), key
            continue
        own = str(job["name"]) + (f" / {_called_job_name(job)}" if "uses" in job else "")
        if not matrix:
            names.append(own)
        for name, values in matrix.items():
            names += [own.replace(f"${{{{ matrix.{name} }}}}", str(v)) for v in values]
    assert sorted(names) == sorted(PR_CHECKS)


def _called_job_name(job: dict[str, object]) -> str:
    """The name a reusable workflow's one job reports: checks read `<caller> / <called>`."""
    path = ROOT / str(job["uses"]).split("/", 2)[2].split("@")[0]
    called = yaml.safe_load(path.read_text(encoding="utf-8"))
    [inner] = called["jobs"].values()
    return str(inner["name"])


def _rulesets(run: OfflineRun) -> dict[str, dict[str, Any]]:
    return {r.name: r.plain_inputs() for r in run.of_type(RULESET)}


def test_main_takes_reviewed_pull_requests_only_with_a_code_owner_among_the_reviewers(
    bootstrap_run: OfflineRun,
) -> None:
    branches = _rulesets(bootstrap_run)["repository-branches"]
    assert branches["conditions"]["refName"]["includes"] == ["refs/heads/main"]
    assert "bypassActors" not in branches
    review = branches["rules"]["pullRequest"]
    assert review["requireCodeOwnerReview"] is True  # issue 29, finding 10: .github/CODEOWNERS
    assert review["requiredApprovingReviewCount"] >= 1
    assert review["requireLastPushApproval"] is True


def test_only_release_managers_create_move_or_delete_release_branches_and_tags(
    bootstrap_run: OfflineRun,
) -> None:
    """Issue 29, finding 3: no creation rule let any writer push release/9.9 at an unreviewed commit.
    The release branches are the workflows' uat trigger (deploy.yml), one pattern everywhere."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8"))
    release = [p for p in workflow[True]["push"]["branches"] if p != "main"]  # PyYAML reads `on` as True
    rulesets = _rulesets(bootstrap_run)
    expected = {
        "repository-release-branches": [f"refs/heads/{pattern}" for pattern in release],
        "repository-release-tags": ["refs/tags/v*"],
    }
    for name, refs in expected.items():
        ruleset = rulesets[name]
        assert ruleset["conditions"]["refName"]["includes"] == refs
        assert {ruleset["rules"][rule] for rule in ("creation", "update", "deletion")} == {True}
        [actor] = ruleset["bypassActors"]  # the example's one release-manager team
        assert (actor["actorType"], actor["bypassMode"]) == ("Team", "always")


def test_every_token_names_its_reusable_workflow(bootstrap_run: OfflineRun) -> None:
    [template] = bootstrap_run.of_type("github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:"
                                       "ActionsRepositoryOidcSubjectClaimCustomizationTemplate")  # fmt: skip
    assert template.plain_inputs()["useDefault"] is False
    assert template.plain_inputs()["includeClaimKeys"] == ["repo", "context", "job_workflow_ref"]
