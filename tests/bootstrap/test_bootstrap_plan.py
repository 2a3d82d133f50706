"""The bootstrap plan: every resource the issue lists is there, hardened, and nothing is publicly reachable.

Runs the real bootstrap program under the offline engine with ``bootstrap/Pulumi.example-org.yaml``.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from bootstrap_support import grants_of, only, role_name

from bootstrap.program import PR_CHECKS
from bootstrap.settings import BootstrapSettings
from core.environment import Environment
from infra.bootstrap_access import DEPLOYER_ROLES, PREVIEW_ROLES
from infra.bootstrap_interface import interface_keys
from policy.check_plan import evaluate, mandatory
from policy.identity import BOOTSTRAP_ROLE_IDS
from stacks.offline import OfflineRun, fake_guid
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
    assert only(bootstrap_run, CONTAINER)["publicAccess"] == "None"
    assert (
        bootstrap_run.exports["backendUrl"]
        == f"azblob://pulumi-state?storage_account={account['accountName']}"
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


def test_preview_identity_is_federated_for_this_repositorys_pull_requests_only(
    bootstrap_run: OfflineRun,
) -> None:
    assert only(bootstrap_run, IDENTITY)["resourceName"] == "id-mlops-preview"
    credential = only(bootstrap_run, FEDERATED)
    assert credential["subject"] == f"repo:{REPOSITORY}:pull_request"
    assert credential["issuer"] == "https://token.actions.githubusercontent.com"
    assert credential["audiences"] == ["api://AzureADTokenExchange"]


def test_preview_identity_holds_read_only_roles_on_the_state_and_every_key(bootstrap_run: OfflineRun) -> None:
    grants = grants_of(bootstrap_run, bootstrap_run.exports["previewPrincipalId"])
    assert {role for role, _ in grants} <= READ_ONLY_ROLES
    container = _id_of(bootstrap_run, CONTAINER, "state-container")
    expected = [(PREVIEW_ROLES.state, container)] + [
        (PREVIEW_ROLES.key, _id_of(bootstrap_run, KEY, f"state-key-{env}")) for env in Environment
    ]
    assert grants == sorted(expected)


def test_each_deployer_gets_the_state_and_its_own_environments_key_only(bootstrap_run: OfflineRun) -> None:
    deployers = _settings().deployers
    assert deployers, "the example stack names deployers, so the plan shows their grants"
    container = _id_of(bootstrap_run, CONTAINER, "state-container")
    for env, principal_id in deployers.items():
        key = _id_of(bootstrap_run, KEY, f"state-key-{env}")
        assert grants_of(bootstrap_run, principal_id) == sorted(
            [(DEPLOYER_ROLES.state, container), (DEPLOYER_ROLES.key, key)]
        )


def test_operators_get_the_state_and_every_key_so_people_can_deploy_by_hand(
    bootstrap_run: OfflineRun,
) -> None:
    operators = _settings().operators
    assert operators, "the example stack names an operator group"
    container = _id_of(bootstrap_run, CONTAINER, "state-container")
    keys = [(DEPLOYER_ROLES.key, _id_of(bootstrap_run, KEY, f"state-key-{env}")) for env in Environment]
    for operator in operators:
        assert grants_of(bootstrap_run, operator) == sorted([(DEPLOYER_ROLES.state, container), *keys])


def test_every_grant_is_a_data_plane_backend_role(bootstrap_run: OfflineRun) -> None:
    roles = {role_name(r) for r in bootstrap_run.of_type("azure-native:authorization:RoleAssignment")}
    assert roles == {PREVIEW_ROLES.state, DEPLOYER_ROLES.state, PREVIEW_ROLES.key}


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
    assert set(interface_keys()) <= set(bootstrap_run.exports)
    [identity] = bootstrap_run.of_type(IDENTITY)
    assert bootstrap_run.exports["previewPrincipalId"] == fake_guid("principal", identity.name)


def test_the_pack_allows_the_bootstrap_exactly_the_roles_it_grants() -> None:
    """The pack's allowed list names roles; the ids come from core.azure_roles, like the grants'."""
    assert set(BOOTSTRAP_ROLE_IDS.values()) == {PREVIEW_ROLES.state, DEPLOYER_ROLES.state, PREVIEW_ROLES.key}


def test_urns_match_the_committed_snapshot(bootstrap_run: OfflineRun) -> None:
    actual = "\n".join(sorted(r.urn for r in bootstrap_run.resources)) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(actual, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no snapshot yet: run with UPDATE_SNAPSHOTS=1 to create {SNAPSHOT.name}"
    assert actual == SNAPSHOT.read_text(encoding="utf-8"), "URNs changed: a rename replaces real resources"


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
        if not matrix:
            names.append(str(job["name"]))
        for name, values in matrix.items():
            names += [str(job["name"]).replace(f"${{{{ matrix.{name} }}}}", str(v)) for v in values]
    assert sorted(names) == sorted(PR_CHECKS)
    assert {f"preview {env}" for env in Environment} <= set(PR_CHECKS)


def test_the_branch_ruleset_protects_exactly_the_branches_that_deploy(bootstrap_run: OfflineRun) -> None:
    """One pattern everywhere: the ruleset on the branches whose pushes deploy is the workflows'
    branch filter (itself the environments' deployment rules, tests/workflows). With `release/**`
    here and `release/*` there, a `release/a/b` branch was protected but deployed nothing."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8"))
    filters = workflow[True]["push"]["branches"]  # PyYAML reads the key `on` as True
    (branches,) = [r for r in bootstrap_run.of_type(RULESET) if r.plain_inputs()["target"] == "branch"]
    includes = branches.plain_inputs()["conditions"]["refName"]["includes"]
    assert includes == [f"refs/heads/{pattern}" for pattern in filters]
