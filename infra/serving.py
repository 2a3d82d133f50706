"""The model side: MLflow experiment, the registered model in Unity Catalog, its serving endpoint.

Who owns which field of the endpoint (docs/databricks.md):
- Pulumi owns the endpoint's existence, name, served entity name and model, workload size,
  scale-to-zero, AI gateway inference table, tags and permissions.
- The deploy task (running as the job principal, CAN_MANAGE) owns which model *version* is
  served: ``config.servedEntities[0].entityVersion`` is in ``ignore_changes``, so a ``pulumi up``
  after a deployment never moves the endpoint back to the version it was created with.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.model_monitoring import ModelMonitor, ModelMonitorArgs
from infra.unity_catalog import Role, Securable, grants_for
from infra.workload_identity import WorkspaceObject, access_controls
from stacks.environment import Environment

SERVED_ENTITY_NAME = "champion"  # the deploy task keeps this name when it moves the version
# The engine's property path of the served version (nested paths are not translated from snake_case).
SERVED_VERSION_PATH = "config.servedEntities[0].entityVersion"
# Trap 10: creating or updating an endpoint routinely takes tens of minutes.
ENDPOINT_TIMEOUTS = pulumi.CustomTimeouts(create="90m", update="90m", delete="30m")


class WorkloadSize(StrEnum):
    SMALL = "Small"
    MEDIUM = "Medium"
    LARGE = "Large"


def _stateful(provider: databricks.Provider, protect: bool) -> pulumi.ResourceOptions:
    """prod (trap 11): neither a config change nor a destroy may delete the model or endpoint."""
    return pulumi.ResourceOptions(provider=provider, protect=protect, retain_on_delete=protect)


class ModelRegistryArgs(ComponentArgs):
    environment: Environment
    experiment_name: str = Field(pattern=r"^/", description="Workspace path of the MLflow experiment.")
    catalog_name: StrInput
    schema_name: StrInput
    model_name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    principals: Mapping[Role, StrInput]
    developers_group: str
    protect: bool
    provider: databricks.Provider


class ModelRegistry(PlatformComponent):
    """Experiment + UC registered model, both administered by the job principal."""

    AREA = "databricks"

    model_full_name: pulumi.Output[str]
    model: databricks.RegisteredModel
    experiment_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        job_principal = args.principals[Role.JOB_PRINCIPAL]
        plain = self.child_opts(pulumi.ResourceOptions(provider=args.provider))
        experiment = databricks.MlflowExperiment(
            f"{name}-experiment",
            name=args.experiment_name,
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider, protect=args.protect)),
        )
        databricks.Permissions(
            f"{name}-experiment-permissions",
            experiment_id=experiment.id,
            access_controls=access_controls(
                WorkspaceObject.EXPERIMENT, args.environment, job_principal, args.developers_group
            ),
            opts=plain,
        )
        self.model = databricks.RegisteredModel(
            f"{name}-model",
            catalog_name=args.catalog_name,
            schema_name=args.schema_name,
            name=args.model_name,
            # The owner registers versions and sets the challenger/champion aliases.
            owner=job_principal,
            comment="Versions come from the training job; aliases challenger/champion.",
            opts=self.child_opts(_stateful(args.provider, args.protect)),
        )
        self.model_full_name = pulumi.Output.concat(
            args.catalog_name, ".", args.schema_name, ".", args.model_name
        )
        databricks.Grants(
            f"{name}-model-grants",
            model=self.model_full_name,
            grants=grants_for(Securable.MODEL, args.environment, args.principals),
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider, depends_on=[self.model])),
        )
        self.experiment_id = experiment.id
        self.register(model_full_name=self.model_full_name, experiment_id=self.experiment_id)


class ServingEndpointArgs(ComponentArgs):
    environment: Environment
    endpoint_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
    model_full_name: StrInput
    model: databricks.RegisteredModel
    initial_model_version: str = Field(pattern=r"^[1-9][0-9]*$", description="Version served at creation.")
    workload_size: WorkloadSize
    scale_to_zero: bool
    catalog_name: StrInput
    schema_name: StrInput
    job_principal: StrInput
    developers_group: str
    tags: Mapping[str, str]
    monitoring: bool = Field(description="Quality-monitor the inference table.")
    monitoring_assets_dir: str = Field(pattern=r"^/Workspace/", description="The monitor's dashboard.")
    failure_emails: tuple[str, ...] = Field(description="Told when a monitor refresh fails.")
    protect: bool
    provider: databricks.Provider

    @property
    def inference_table_prefix(self) -> str:
        return self.endpoint_name.replace("-", "_")


class ServingEndpoint(PlatformComponent):
    AREA = "databricks"

    endpoint_name: str
    payload_table: pulumi.Output[str]
    endpoint: databricks.ModelServing

    def __init__(
        self, name: str, args: ServingEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        served = databricks.ModelServingConfigServedEntityArgs(
            name=SERVED_ENTITY_NAME,
            entity_name=args.model_full_name,
            entity_version=args.initial_model_version,
            workload_size=args.workload_size.value,
            scale_to_zero_enabled=args.scale_to_zero,
        )
        self.endpoint = databricks.ModelServing(
            f"{name}-endpoint",
            name=args.endpoint_name,
            config=databricks.ModelServingConfigArgs(served_entities=[served]),
            ai_gateway=databricks.ModelServingAiGatewayArgs(
                inference_table_config=databricks.ModelServingAiGatewayInferenceTableConfigArgs(
                    catalog_name=args.catalog_name,
                    schema_name=args.schema_name,
                    table_name_prefix=args.inference_table_prefix,
                    enabled=True,
                ),
            ),
            tags=[databricks.ModelServingTagArgs(key=k, value=v) for k, v in sorted(args.tags.items())],
            opts=self.child_opts(
                pulumi.ResourceOptions.merge(
                    _stateful(args.provider, args.protect),
                    pulumi.ResourceOptions(
                        custom_timeouts=ENDPOINT_TIMEOUTS,
                        ignore_changes=[SERVED_VERSION_PATH],
                        depends_on=[args.model],
                    ),
                )
            ),
        )
        databricks.Permissions(
            f"{name}-endpoint-permissions",
            serving_endpoint_id=self.endpoint.serving_endpoint_id,
            access_controls=access_controls(
                WorkspaceObject.SERVING_ENDPOINT, args.environment, args.job_principal, args.developers_group
            ),
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider)),
        )
        self.endpoint_name = args.endpoint_name
        # The AI gateway writes requests and responses here (created with the endpoint).
        self.payload_table = pulumi.Output.concat(
            args.catalog_name, ".", args.schema_name, ".", args.inference_table_prefix, "_payload"
        )
        if args.monitoring:
            ModelMonitor(
                f"{name}-monitoring",
                ModelMonitorArgs(
                    table_name=self.payload_table,
                    output_schema=pulumi.Output.concat(args.catalog_name, ".", args.schema_name),
                    assets_dir=args.monitoring_assets_dir,
                    failure_emails=args.failure_emails,
                    endpoint=self.endpoint,
                    provider=args.provider,
                ),
                self.child_opts(),
            )
        self.register(endpoint_name=self.endpoint_name, payload_table=self.payload_table)
