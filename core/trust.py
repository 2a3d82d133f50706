"""The platform's trust model as data: who can reach what, and which tests and policies check it.

docs/security.md shows ``TRUST_MODEL`` (``python -m stacks.trust_table --docs`` writes it between
its markers), and tests/test_trust_model.py fails on a guard that names no existing test or
policy, and on a docs table that is not this one. The reach of each row is written from the same
constants the program grants from (core/deployments.py), so the table cannot say sandbox and dev
while the bootstrap grants uat. Stdlib only: the bottom layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.branches import RELEASE_BRANCHES
from core.deployments import MAIN, PROD_PREVIEW, PULL_REQUEST_PREVIEWS, RELEASE_PREVIEWS, RELEASE_TAGS

# Paths whose every change needs a code owner's review (.github/CODEOWNERS, bootstrap/codeowners.py):
# what decides who gets a cloud token, what the policy pack lets through, and how a model loads.
CODE_OWNED_PATHS: tuple[str, ...] = (
    "/.github/",
    "/policy/",
    "/bootstrap/",
    "/core/",
    "/infra/identity.py",
    "/infra/github.py",
    "/infra/repository_settings.py",
    "/infra/bootstrap_access.py",
    "/infra/preview_access.py",
    "/Makefile",
    "/ml/framework/src/mlops_framework/model_trust.py",
)

POLICY = "policy:"  # a guard naming a policy of the pack (policy/registry.py)
# Guards naming a test: "<file>::<test>".
_BOOTSTRAP_CONFIG = "tests/bootstrap/test_bootstrap_config.py::"
_BOOTSTRAP_GITHUB = "tests/bootstrap/test_bootstrap_github.py::"
_BOOTSTRAP_HANDOFF = "tests/bootstrap/test_bootstrap_handoff.py::"
_BOOTSTRAP_PLAN = "tests/bootstrap/test_bootstrap_plan.py::"
_PREVIEW_ACCESS = "tests/bootstrap/test_preview_access.py::"
_DATABRICKS_APPROVAL = "tests/infra/test_databricks_approval.py::"
_DATABRICKS_IDENTITIES = "tests/infra/test_databricks_identities.py::"
_DATABRICKS_JOBS = "tests/infra/test_databricks_jobs.py::"
_BOOTSTRAP_DEPLOYERS = "tests/bootstrap/test_bootstrap_deployers.py::"
_ML_WEEK_TWO = "tests/ml/test_ml_databricks_week_two.py::"
_ML_MODEL_TRUST = "tests/ml/test_ml_model_trust.py::"
_ML_SERVING = "tests/ml/test_ml_serving.py::"
_ACCESS_INVARIANTS = "tests/stacks/test_access_invariants.py::"
_SECRETS = "tests/stacks/test_secrets.py::"  # pragma: allowlist secret
_SUBSCRIPTION = "tests/stacks/test_subscription.py::"
_WIRING = "tests/stacks/test_wiring.py::"
_PIPELINE_REHEARSAL = "tests/workflows/test_pipeline_rehearsal.py::"
_WORKFLOWS_STACKS = "tests/workflows/test_workflows_stacks.py::"


def _envs(environments: tuple[object, ...]) -> str:
    return " and ".join(str(e) for e in environments)


@dataclass(frozen=True)
class TrustRow:
    """One actor: how it gets in, what it can reach, what it never can, and what checks that."""

    actor: str
    gets_in: str
    reaches: str
    never: str
    guards: tuple[str, ...]  # "tests/<file>.py::<test>" or "policy:<name>"


PR, RELEASE = _envs(PULL_REQUEST_PREVIEWS), _envs(RELEASE_PREVIEWS)
TRUST_MODEL: tuple[TrustRow, ...] = (
    TrustRow(
        "fork author",
        "a pull request from a fork",
        "the lint, test and wheel jobs, with a read-only token and no secret",
        "any cloud identity or secret: the preview job is skipped for forks",
        (f"{_WORKFLOWS_STACKS}test_pull_requests_from_forks_get_no_preview_and_no_identity",),
    ),
    TrustRow(
        "writer (push access)",
        "a pull request from a branch; its own code (Makefile, program) runs in the preview job",
        f"through the PR-preview identity: the state and the key of {PR} (read, decrypt), Reader on "
        f"their groups; a preview's log",
        "uat or prod state or keys; any write; a preview comment; main without approvals and a code "
        "owner's review; creating a release branch or tag; a token from a workflow it edited (only "
        f"{MAIN}'s copy of pr-preview.yml gets one)",
        (
            f"{POLICY}pull-request-reaches-sandbox-and-dev-only",
            f"{_BOOTSTRAP_PLAN}test_a_pull_requests_identity_reads_and_decrypts_sandbox_and_dev_only",
            f"{_WORKFLOWS_STACKS}test_pull_requests_preview_sandbox_and_dev_only",
            f"{_WORKFLOWS_STACKS}test_pull_request_previews_read_no_live_state_and_write_nothing_back",
            f"{_BOOTSTRAP_PLAN}test_main_takes_reviewed_pull_requests_only_with_a_code_owner_among_the_reviewers",
            f"{_BOOTSTRAP_GITHUB}test_no_writer_can_create_a_ref_that_runs_a_job_in_an_environment",
            f"{_PIPELINE_REHEARSAL}test_each_defect_reintroduced_fails_the_rehearsal",
        ),
    ),
    TrustRow(
        "release manager",
        f"creates `{RELEASE_BRANCHES}` branches and `{RELEASE_TAGS}` tags, starts promote to prod by hand",
        f"a uat deploy, and a prod deploy request, of a commit already on {MAIN}",
        f"deploying a commit not on {MAIN} (main's copy of the workflow refuses it before its code runs; "
        "Azure refuses a token from any other copy); approving prod",
        (
            f"{_BOOTSTRAP_PLAN}test_only_release_managers_create_move_or_delete_release_branches_and_tags",
            f"{_WORKFLOWS_STACKS}test_a_commit_not_on_main_is_refused_before_any_of_its_code_runs",
            f"{_WORKFLOWS_STACKS}test_every_cloud_login_runs_mains_copy_of_a_reusable_workflow",
            f"{POLICY}federated-credential-scoped",
            f"{_BOOTSTRAP_CONFIG}test_prod_reviewers_who_also_push_release_refs_are_refused",
        ),
    ),
    TrustRow(
        "prod reviewer",
        "approves a job in the prod environment, after reading main's prod preview",
        f"a prod deploy of a commit on {MAIN}, whose wheels are the bytes uat ran",
        "approving a run they started; being a release manager; skipping the rules (no admin bypass)",
        (
            f"{_BOOTSTRAP_GITHUB}test_prod_waits_for_its_reviewers_and_nobody_approves_their_own_deployment",
            f"{_BOOTSTRAP_GITHUB}test_only_the_refs_of_its_rule_may_run_a_job_in_an_environment",
            f"{_WIRING}test_another_build_of_the_pinned_version_fails_before_any_registration",
        ),
    ),
    TrustRow(
        "code owner",
        "the team .github/CODEOWNERS names (written by make bootstrap)",
        "its required review of CI, the policy pack, the bootstrap, core/ and the identities' code",
        "nothing beyond a writer's reach: its review is a gate, not a grant",
        (
            f"{_BOOTSTRAP_HANDOFF}test_the_committed_codeowners_and_workflow_calls_are_what_the_example_bootstrap_writes",
            f"{_BOOTSTRAP_PLAN}test_main_takes_reviewed_pull_requests_only_with_a_code_owner_among_the_reviewers",
        ),
    ),
    TrustRow(
        "model approver",
        "the approvers group, where a new champion waits for approval (uat, prod)",
        "APPLY TAG on the model, CAN_MANAGE_RUN on the release job",
        "data, compute or any other job; the infrastructure; turning the gate or the approval off "
        "through a run's parameters, `env` included (the catalog's `mlops.environment` decides)",
        (
            f"{POLICY}approval-has-an-approver",
            f"{POLICY}catalog-names-its-environment",
            f"{_ML_WEEK_TWO}test_in_uat_whoever_starts_the_release_can_neither_turn_the_gate_off_nor_rewrite_its_scores",
            f"{_DATABRICKS_APPROVAL}test_approvers_can_tag_the_model_and_start_the_release_job_where_approval_is_required",
            f"{_DATABRICKS_APPROVAL}test_no_approver_may_write_data_or_run_compute_beyond_the_release_job",
        ),
    ),
    TrustRow(
        "developer",
        "a project's developers group",
        "in sandbox and dev: build (tables, models, runs, secrets of the scope); in uat and prod: read",
        "changing anything in uat or prod; another project's schema",
        (
            f"{_ACCESS_INVARIANTS}test_developers_build_only_where_the_stack_lets_them",
            f"{_ACCESS_INVARIANTS}test_in_uat_and_prod_no_group_but_the_owners_changes_anything_in_unity_catalog",
            f"{_ACCESS_INVARIANTS}test_in_uat_and_prod_no_group_reads_the_secrets",
        ),
    ),
    TrustRow(
        "operator",
        "a person in the bootstrap's operators (first ups, sandbox), Owner of the subscription",
        "every environment's state and key; what their Azure and Databricks roles allow",
        "nothing technical: people trusted with every environment (docs/security.md, residual risks)",
        (
            f"{_BOOTSTRAP_PLAN}test_operators_get_every_environments_state_and_key_so_people_can_deploy_by_hand",
        ),
    ),
    TrustRow(
        "deployer of an environment",
        f"a job in that GitHub environment running {MAIN}'s pulumi-up.yml (its federated subject)",
        "its own environment's subscription (a custom role; the bootstrap creates it), vault, state "
        "container, key and workspace (admin); "
        "the Unity Catalog objects its own deployers group owns",
        "another environment's state, key or catalog; its own federated credential or identity; "
        "a role for any principal but the one each delegable role is for; a GitHub token",
        (
            f"{_BOOTSTRAP_PLAN}test_each_deployer_gets_its_own_environments_state_and_key_only",
            f"{_DATABRICKS_IDENTITIES}test_no_principal_owns_unity_catalog_objects_of_two_environments",
            f"{_BOOTSTRAP_DEPLOYERS}test_each_deployer_holds_its_roles_on_its_own_subscription_only",
            f"{_BOOTSTRAP_DEPLOYERS}"
            "test_the_delegation_pins_each_role_to_its_principal_and_the_connectors_to_service_principals",
            f"{_BOOTSTRAP_DEPLOYERS}test_two_environments_sharing_a_subscription_are_refused_naming_the_keys_and_stacks",
            f"{POLICY}no-identity-extends-its-trust",
            f"{POLICY}uc-isolated-to-its-workspace",
            f"{_SUBSCRIPTION}test_a_job_in_another_environment_is_refused",
            f"{_SECRETS}test_no_environment_stack_copies_a_secret_to_github",
        ),
    ),
    TrustRow(
        "PR-preview identity",
        f"repo:<o>/<r>:pull_request, from {MAIN}'s pr-preview.yml",
        f"the state and the key of {PR} (read, decrypt); Reader on their groups; browsing their workspaces",
        "uat or prod; any write",
        (
            f"{POLICY}pull-request-reaches-sandbox-and-dev-only",
            f"{_BOOTSTRAP_PLAN}test_each_preview_identity_trusts_one_subject_that_pins_mains_workflow",
            f"{_PREVIEW_ACCESS}test_preview_identity_never_holds_a_role_that_writes",
        ),
    ),
    TrustRow(
        "release preview identity",
        f"the {PROD_PREVIEW} environment ({MAIN} and `{RELEASE_TAGS}` tags), "
        f"from {MAIN}'s release-preview.yml",
        f"the state and the key of {RELEASE} (read, decrypt); Reader on their groups",
        "any write; a pull request's code",
        (
            f"{_BOOTSTRAP_PLAN}test_the_release_preview_identity_reads_and_decrypts_uat_and_prod_only",
            f"{_PIPELINE_REHEARSAL}test_prods_post_merge_preview_runs_as_the_release_preview_identity",
        ),
    ),
    TrustRow(
        "job principal of an environment",
        "every job's run_as (Databricks-managed, no secret)",
        "its environment's catalog as granted, the secret scope (read), the experiment and endpoint; "
        "starting the training job (the drift retrain)",
        "Azure; other environments; starting any other job",
        (
            f"{POLICY}job-runs-as-service-principal",
            f"{_DATABRICKS_JOBS}test_the_job_principal_may_start_the_training_job_and_no_other",
        ),
    ),
    TrustRow(
        "a model version's files",
        "whoever can write the artifact store",
        "nothing: loaded only as skops of the wheel's trusted types, with the digest training recorded",
        "running code when loaded (pickle, cloudpickle, an untrusted type); swapping bytes after training",
        (
            f"{_ML_MODEL_TRUST}test_a_model_that_would_run_code_is_refused_whatever_its_digest",
            f"{_ML_MODEL_TRUST}test_the_loader_refuses_a_version_whose_tag_does_not_match",
        ),
    ),
    TrustRow(
        "local scoring client",
        "a request to `iris-mlops serve`",
        "predictions, and a row in the tables the monitoring job reads",
        "the server beyond loopback without its token; more than 32 connections at once",
        (
            f"{_ML_SERVING}test_serving_beyond_loopback_needs_a_token",
            f"{_ML_SERVING}test_with_a_token_only_its_bearer_scores",
        ),
    ),
)
