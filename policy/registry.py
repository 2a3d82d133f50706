"""Every rule of the pack as one table, used by both the CrossGuard pack and the offline evaluator."""

from __future__ import annotations

from .access import (
    check_deployer_in_workspace,
    check_endpoint_creator_executes,
    check_run_as_user_role,
    check_storage_validation_after_propagation,
    check_uc_owners,
)
from .approval import check_approval_path
from .backend import check_pull_request_reach
from .catalog_environment import check_catalog_names_its_environment
from .endpoints import MODEL_SERVING, advise_serving_cost, check_prod_serving_always_on
from .identity import (
    FEDERATED_CREDENTIAL,
    ROLE_ASSIGNMENT,
    ROLE_DEFINITION,
    check_bootstrap_role,
    check_federated_credential,
    check_no_forbidden_role,
    check_no_self_extension,
)
from .jobs import (
    CLUSTER,
    JOB,
    advise_cluster_autotermination,
    advise_job_timeout,
    check_job_notifies_on_failure,
    check_job_runs_as_service_principal,
    check_job_timeout_covers_tasks,
)
from .keyvault import KEY_VAULT, check_key_vault
from .monitoring import LOG_ANALYTICS_WORKSPACE, advise_log_retention
from .rule import Enforcement, Rule
from .secret_inputs import check_secret_inputs
from .stack_rule import StackRule
from .storage import (
    BLOB_SERVICE,
    STORAGE_ACCOUNT,
    advise_storage_redundancy,
    check_blob_service_recoverable,
    check_storage_account,
)
from .tags import check_required_tags
from .uc_isolation import check_uc_isolated
from .workloads import (
    QUALITY_MONITOR,
    SECRET_SCOPE,
    check_monitor_profiles_predictions,
    check_secret_scope_databricks_backed,
)
from .workspace import DATABRICKS_WORKSPACE, check_databricks_workspace

MANDATORY = Enforcement.MANDATORY
ADVISORY = Enforcement.ADVISORY

RULES: tuple[Rule, ...] = (
    Rule(
        "required-tags",
        "Taggable Azure resources carry environment, project, owner, cost-center and managed-by tags.",
        MANDATORY,
        check_required_tags,
    ),
    Rule(
        "key-vault-hardened",
        "Key Vaults use RBAC and soft delete; purge protection is on in uat/prod and never false.",
        MANDATORY,
        check_key_vault,
        frozenset({KEY_VAULT}),
    ),
    Rule(
        "storage-account-hardened",
        "Storage accounts: HTTPS only, TLS 1.2+, no public blob access, shared keys disabled.",
        MANDATORY,
        check_storage_account,
        frozenset({STORAGE_ACCOUNT}),
    ),
    Rule(
        "databricks-workspace-hardened",
        "Databricks workspaces are premium; in prod they have no public IPs.",
        MANDATORY,
        check_databricks_workspace,
        frozenset({DATABRICKS_WORKSPACE}),
    ),
    Rule(
        "no-owner-role-assignment",
        "No role assignment grants Owner to a platform identity.",
        MANDATORY,
        check_no_forbidden_role,
        frozenset({ROLE_ASSIGNMENT}),
    ),
    Rule(
        "no-identity-extends-its-trust",
        "No role lets an identity write federated credentials or attach identities; delegation names "
        "its principals.",
        MANDATORY,
        check_no_self_extension,
        frozenset({ROLE_ASSIGNMENT, ROLE_DEFINITION}),
    ),
    Rule(
        "federated-credential-scoped",
        "Federated credentials trust GitHub OIDC only for this repository: an environment stack's own "
        "environment, or (bootstrap project only) its pull requests.",
        MANDATORY,
        check_federated_credential,
        frozenset({FEDERATED_CREDENTIAL}),
    ),
    Rule(
        "bootstrap-grants-data-plane-only",
        "The bootstrap project grants only state-blob and stack-key roles (no control-plane role).",
        MANDATORY,
        check_bootstrap_role,
        frozenset({ROLE_ASSIGNMENT}),
    ),
    Rule(
        "state-backend-recoverable",
        "Blob services keep versions and soft-deleted blobs and containers for at least 7 days.",
        MANDATORY,
        check_blob_service_recoverable,
        frozenset({BLOB_SERVICE}),
    ),
    Rule(
        "prod-serving-always-on",
        "Prod serving endpoints do not scale to zero.",
        MANDATORY,
        check_prod_serving_always_on,
        frozenset({MODEL_SERVING}),
    ),
    Rule(
        "job-runs-as-service-principal",
        "Every Databricks job runs as a service principal, never as a person.",
        MANDATORY,
        check_job_runs_as_service_principal,
        frozenset({JOB}),
    ),
    Rule(
        "job-notifies-on-failure",
        "Every Databricks job notifies someone (email or webhook) when a run fails.",
        MANDATORY,
        check_job_notifies_on_failure,
        frozenset({JOB}),
    ),
    Rule(
        "job-timeout-covers-tasks",
        "A job's timeout is at least its longest task chain, every attempt counted.",
        MANDATORY,
        check_job_timeout_covers_tasks,
        frozenset({JOB}),
    ),
    Rule(
        "secret-scope-databricks-backed",
        "Secret scopes are Databricks-backed: nothing grants Databricks access to a vault.",
        MANDATORY,
        check_secret_scope_databricks_backed,
        frozenset({SECRET_SCOPE}),
    ),
    Rule(
        "monitor-profiles-predictions",
        "Quality monitors watch unpacked predictions, not the raw JSON inference payload.",
        MANDATORY,
        check_monitor_profiles_predictions,
        frozenset({QUALITY_MONITOR}),
    ),
    Rule(
        "secret-inputs-are-secrets",
        "Inputs that look like credentials reach the engine as Pulumi secrets.",
        MANDATORY,
        check_secret_inputs,
        needs_secret_markers=True,
    ),
    Rule(
        "nonprod-serving-cost",
        "Outside prod, serving endpoints are not Large and scale to zero.",
        ADVISORY,
        advise_serving_cost,
        frozenset({MODEL_SERVING}),
    ),
    Rule(
        "nonprod-log-retention",
        "Outside prod, Log Analytics keeps logs for at most 90 days.",
        ADVISORY,
        advise_log_retention,
        frozenset({LOG_ANALYTICS_WORKSPACE}),
    ),
    Rule(
        "nonprod-storage-redundancy",
        "Outside prod, storage accounts use locally redundant SKUs.",
        ADVISORY,
        advise_storage_redundancy,
        frozenset({STORAGE_ACCOUNT}),
    ),
    Rule(
        "job-has-timeout",
        "Databricks jobs set a timeout so a hung run does not bill forever.",
        ADVISORY,
        advise_job_timeout,
        frozenset({JOB}),
    ),
    Rule(
        "cluster-autotermination",
        "All-purpose Databricks clusters terminate when idle.",
        ADVISORY,
        advise_cluster_autotermination,
        frozenset({CLUSTER}),
    ),
)

# Rules over several resources at once (CrossGuard stack policies; offline over the whole plan).
STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        "run-as-needs-user-role",
        "A job running as a service principal depends on a rule set granting Service Principal User on it.",
        MANDATORY,
        check_run_as_user_role,
    ),
    StackRule(
        "pull-request-reaches-sandbox-and-dev-only",
        "No identity a pull_request token can assume holds a role on a uat or prod key or state.",
        MANDATORY,
        check_pull_request_reach,
    ),
    StackRule(
        "deployer-in-workspace",
        "The identity CI deploys as is registered in the workspace and made admin.",
        MANDATORY,
        check_deployer_in_workspace,
    ),
    StackRule(
        "uc-owned-by-deployers",
        "Every Unity Catalog securable names one owner, the deployers group.",
        MANDATORY,
        check_uc_owners,
    ),
    StackRule(
        "uc-isolated-to-its-workspace",
        "Storage credential, external location and catalog are ISOLATED and bound to the stack's workspace.",
        MANDATORY,
        check_uc_isolated,
    ),
    StackRule(
        "catalog-names-its-environment",
        "Every catalog's properties name the stack's environment (mlops.environment), which the jobs trust.",
        MANDATORY,
        check_catalog_names_its_environment,
    ),
    StackRule(
        "endpoint-creator-executes-model",
        "The deployers hold EXECUTE on every model an endpoint serves, granted before the endpoint.",
        MANDATORY,
        check_endpoint_creator_executes,
    ),
    StackRule(
        "approval-has-an-approver",
        "Where a job waits for a human approval, some principal may tag the model and start the release job.",
        MANDATORY,
        check_approval_path,
    ),
    StackRule(
        "uc-storage-after-role",
        "Storage credential and external location are created after a wait for the connector's storage "
        "role to propagate.",
        MANDATORY,
        check_storage_validation_after_propagation,
    ),
)
