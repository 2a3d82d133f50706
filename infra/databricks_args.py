"""The typed args of one environment's Databricks workloads and of each ML project it hosts, and
the names and parameter values they imply (the physical names, the experiment, what every task of
a project's job graph may ask for)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Self

import pulumi
from mlops_framework.vocabulary import DECISION_DEFAULTS, TRAINING_JOB, Rescore
from pydantic import Field, model_validator

from core.environment import Environment
from infra.access import AccessLevels
from infra.base import ComponentArgs, StrInput
from infra.databricks_provider import DatabricksAuthType
from infra.jobs import ComputeMode, DriftThresholds, JobCluster
from infra.last_deploy import DeployedObjects
from infra.model_serving import WorkloadSize
from infra.naming import DatabricksNames

_UC_NAME = r"^[a-z][a-z0-9_]{0,254}$"


class ProblemType(StrEnum):
    """What the project's model predicts; the quality monitor profiles its predictions so."""

    CLASSIFICATION = "PROBLEM_TYPE_CLASSIFICATION"
    REGRESSION = "PROBLEM_TYPE_REGRESSION"


class ProjectArgs(ComponentArgs):
    """One ML project of the environment: its wheel and what its settings resolved to."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,20}$", description="Names its component and jobs.")
    wheel_path: Path = Field(description="The project's wheel, or its dist folder (exactly one wheel).")
    schema_name: str = Field(pattern=_UC_NAME, description="Its schema: tables, volume, model.")
    model_name: str = Field(pattern=_UC_NAME, description="Its UC model; names the endpoint too.")
    developers_group: str = Field(min_length=1, description="Its data scientists; granted on it only.")
    primary_metric: str = Field(min_length=1, description="Metric of its gate.")
    margin: float = Field(
        default=DECISION_DEFAULTS.margin, ge=0.0, description="Challenger must beat champion by this."
    )
    schedules_paused: bool = Field(description="Its job schedules created paused.")
    serving_workload_size: WorkloadSize = Field(default=WorkloadSize.SMALL)
    serving_scale_to_zero: bool = Field(default=True, description="Its endpoint scales to zero when idle.")
    predictions_table: str = Field(pattern=_UC_NAME, description="The table its scoring writes (monitored).")
    problem_type: ProblemType = Field(description="How the monitor profiles its predictions.")
    state_from_single_project: bool = Field(
        default=False,
        description="Its resources existed before projects did (the environment's only project): "
        "they alias their former URNs, so `pulumi up` moves them instead of replacing them.",
    )


class DatabricksWorkloadsArgs(ComponentArgs):
    """Everything one environment's Databricks workloads need; stacks/wiring.py maps the settings here."""

    environment: Environment = Field(description="The stack's environment: a name, never a decision.")
    name_prefix: str = Field(
        default="mlops", pattern=r"^[a-z][a-z0-9-]{1,20}$", description="Physical names."
    )
    # Workspace and provider (docs/traps.md: explicit-provider)
    workspace_host: StrInput = Field(description="Workspace URL (the workspace's workspaceUrl output).")
    workspace_resource_id: StrInput = Field(description="Azure resource id of the Databricks workspace.")
    workspace_numeric_id: StrInput = Field(
        description="The workspace's numeric id (workspaceId output): what Unity Catalog binds securables to."
    )
    auth_type: DatabricksAuthType = Field(default=DatabricksAuthType.AZURE_CLI, description="Provider auth.")
    deployer_client_id: StrInput | None = Field(
        default=None, description="github-oidc-azure: deployer client id."
    )
    tenant_id: StrInput | None = Field(default=None, description="Entra tenant id (required for OIDC).")
    # Identities (who deploys, and whom the deployers may run jobs as)
    account_id: str = Field(description="Databricks account id (rule set names carry it).")
    deployers_group: str = Field(
        min_length=1, description="Account group of the deployer and the bootstrappers; owns UC objects."
    )
    deployer_application_id: StrInput = Field(
        description="Client id of the deployer managed identity, registered in the workspace."
    )
    preview_application_id: StrInput = Field(
        description="Client id of the bootstrap's PR-preview identity, registered read-only in the workspace."
    )
    # Unity Catalog
    access_connector_id: StrInput = Field(description="Azure resource id of the access connector.")
    uc_storage_access: pulumi.Resource = Field(
        description="The wait after the access connector's role on the UC storage has propagated: "
        "credential and location are created after it."
    )
    uc_storage_root: StrInput = Field(description="abfss://<container>@<account>.dfs.core.windows.net/")
    catalog: str = Field(pattern=_UC_NAME, description="The environment's catalog.")
    readers_group: str = Field(
        min_length=1, description="Group that may read the schemas and use the models."
    )
    access: AccessLevels = Field(description="Grants and ACL levels per role (infra/access.py).")
    approvers_group: str = Field(
        min_length=1, description="Group whose members approve a new champion where approval is required."
    )
    # Jobs
    project_root: Path | None = Field(
        default=None, description="Local paths are recorded relative to it, so every checkout plans alike."
    )
    compute_mode: ComputeMode = Field(default=ComputeMode.SERVERLESS, description="Job compute.")
    cluster: JobCluster = Field(default_factory=JobCluster, description="Job clusters only: runtime, size.")
    failure_notification_emails: tuple[str, ...] = Field(default=(), description="Mailed on failed runs.")
    # ML parameters every project's tasks receive
    require_approval: bool = Field(description="A human approves a new champion (the gate's input).")
    drift: DriftThresholds = Field(
        default_factory=DriftThresholds, description="When the monitoring job calls drift and retrains."
    )
    # Serving and monitoring
    create_serving_endpoint: bool = Field(
        default=False, description="Serve the champion; created by the first up after the alias exists."
    )
    model_monitoring: bool = Field(default=False, description="Monitor the predictions table (uat/prod).")
    deployed: Mapping[str, DeployedObjects] = Field(
        description="Per project: the endpoint and monitor the stack's last `pulumi up` created "
        "(infra/last_deploy.py); they exist whoever looks."
    )
    # Lifecycle
    protect: bool = Field(description="Protect the stateful objects (catalog, model, endpoint, ...).")
    force_destroy: bool = Field(description="Destroying the catalog or schema drops their tables.")
    tags: Mapping[str, str] = Field(default_factory=dict, description="Tags on jobs and the endpoint.")
    # The ML projects: each gets its own schema, wheel, jobs, model, endpoint and grants.
    projects: tuple[ProjectArgs, ...] = Field(min_length=1, description="The projects, names unique.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        oidc = self.auth_type is DatabricksAuthType.GITHUB_OIDC_AZURE
        checks = {
            "auth_type github-oidc-azure needs deployer_client_id and tenant_id": oidc
            and (self.deployer_client_id is None or self.tenant_id is None),
            "failure_notification_emails must be e-mail addresses": any(
                "@" not in e for e in self.failure_notification_emails
            ),
        }
        problems = [message for message, failed in checks.items() if failed]
        problems += [
            f"projects share {field}: {sorted(shared)}"
            for field in ("name", "schema_name", "model_name", "developers_group")
            if (shared := _shared(getattr(p, field) for p in self.projects))
        ]
        if missing := sorted({p.name for p in self.projects} - set(self.deployed)):
            problems.append(f"no record of what the last deploy created for {missing}")
        if sum(p.state_from_single_project for p in self.projects) > 1:
            problems.append("at most one project may take over the single-project state")
        if problems:
            raise ValueError(f"{self.environment.value}: " + "; ".join(problems))
        return self

    @property
    def names(self) -> DatabricksNames:
        return DatabricksNames(self.name_prefix, self.environment)

    def endpoint_name(self, project: ProjectArgs) -> str:
        return self.names.endpoint(project.model_name)

    def experiment_name(self, project: ProjectArgs) -> str:
        return self.names.experiment(project.model_name)

    def parameter_values(self, project: ProjectArgs) -> dict[str, str]:
        """The value of every named parameter a task of the project's job graph may ask for."""
        return {name: value(self, project) for name, value in PARAMETERS.items()}


# Every named parameter a task of a project's job graph may ask for, and how the platform fills it.
# Its names alone are what a graph is checked against before anything is registered
# (stacks/wiring.py, checked_wheels), so the platform's values are known by this one table.
PARAMETERS: Mapping[str, Callable[[DatabricksWorkloadsArgs, ProjectArgs], str]] = {
    "env": lambda args, project: args.environment.value,
    "catalog": lambda args, project: args.catalog,
    "schema": lambda args, project: project.schema_name,
    "model_name": lambda args, project: project.model_name,
    "primary_metric": lambda args, project: project.primary_metric,
    "margin": lambda args, project: str(project.margin),
    "require_approval": lambda args, project: "true" if args.require_approval else "false",
    "endpoint_name": lambda args, project: args.endpoint_name(project),
    "experiment_name": lambda args, project: args.experiment_name(project),
    "drift_psi_threshold": lambda args, project: str(args.drift.psi),
    "drift_p_value": lambda args, project: str(args.drift.p_value),
    "drift_min_rows": lambda args, project: str(args.drift.min_rows),
    # The job a drift alert starts (mlops_framework.retrain): this project's training job.
    "training_job_name": lambda args, project: args.names.job(project.name, TRAINING_JOB),
    # The training job's job parameter default: not started by a drift alert.
    "drift_summary": lambda args, project: "{}",
    # The batch inference job's job parameter default: score only what changed (a person may start
    # a run with rescore=all).
    "rescore": lambda args, project: Rescore.CHANGED.value,
    # Databricks' dynamic value reference for the job run: deploy acts on approve's verdict in the
    # same run (iris_mlops/decisions.py; "Dynamic value references", {{job.run_id}}).
    "job_run_id": lambda args, project: "{{job.run_id}}",
}


def _shared(values: Iterable[str]) -> set[str]:
    counts = Counter(values)
    return {value for value, count in counts.items() if count > 1}
