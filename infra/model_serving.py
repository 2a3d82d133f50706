"""The model side: MLflow experiment, the registered model in Unity Catalog, its serving endpoint.

Who owns which field of the endpoint (docs/databricks.md):
- Pulumi owns the endpoint's existence, name, served entity name and model, workload size,
  scale-to-zero, AI gateway inference table, tags and permissions.
- The deploy task (running as the job principal, CAN_MANAGE) owns which model *version* is
  served: ``config.servedEntities[0].entityVersion`` is in ``ignore_changes``, so a ``pulumi up``
  after a deployment never moves the endpoint back to the version it was created with.
  ``ignore_changes`` compares with the inputs in the state, so only a refresh brings in the
  version the deploy task moved to; ``Pulumi.yaml`` sets ``options: refresh: always``.

Whether the endpoint exists at all is decided as infra/last_deploy.py says: once a ``pulumi up``
created it, from the stack's own outputs; before that, from the model's ``champion`` alias
(``champion``, pulumi-databricks ``get_registered_model`` with ``include_aliases``): an endpoint
must name a model version, and none exists before the first training run. During a preview before
the workspace or the model exists, the invoke's inputs are unknown and it answers unknown (pulumi
sdk/python/lib/pulumi/runtime/invoke.py: unknown inputs, or dependencies pending creation, give a
wholly unknown result): the preview then shows no endpoint.

Timeouts fit the CI credential: see ``ENDPOINT_TIMEOUTS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

import pulumi
import pulumi_databricks as databricks
from mlops_framework.vocabulary import CHAMPION, SERVED_ENTITY_NAME
from pydantic import Field

from infra.access import Privileges, Role
from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.last_deploy import Champion
from infra.unity_catalog import grants_for
from infra.workload_identity import access_controls

# The engine's property path of the served version (nested paths are not translated from snake_case).
SERVED_VERSION_PATH = "config.servedEntities[0].entityVersion"
# Creating or updating an endpoint routinely takes tens of minutes, but not longer than CI's
# credential lives. In CI the Databricks provider exchanges the GitHub OIDC token once, when it is
# configured (databricks-sdk-go config/auth_azure_github_oidc.go requests the ID token in
# Configure and reuses it as the client assertion), GitHub's ID token expires minutes after it is
# issued, and Entra refuses an expired assertion (AADSTS700024, Azure/login#180, #372). The Entra
# access token it got lives 60-90 minutes by default, not refreshable
# (https://learn.microsoft.com/entra/identity-platform/access-tokens#token-lifetime). So every
# Databricks step of one `pulumi up` must end within 60 minutes of its start; CI_TOKEN_MINUTES is
# that budget and a plan-level test keeps every custom timeout inside it.
CI_TOKEN_MINUTES = 60
ENDPOINT_TIMEOUTS = pulumi.CustomTimeouts(create="40m", update="40m", delete="15m")


class WorkloadSize(StrEnum):
    SMALL = "Small"
    MEDIUM = "Medium"
    LARGE = "Large"


def _stateful(provider: databricks.Provider, protect: bool) -> pulumi.ResourceOptions:
    """prod: neither a config change nor a destroy may delete the model or endpoint.

    Known trap (docs/traps.md: prod-serving-protection).
    """
    return pulumi.ResourceOptions(provider=provider, protect=protect, retain_on_delete=protect)


class ModelRegistryArgs(ComponentArgs):
    experiment_name: str = Field(pattern=r"^/", description="Workspace path of the MLflow experiment.")
    catalog_name: StrInput
    schema_name: StrInput
    model_name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    principals: Mapping[Role, StrInput]
    model_privileges: Mapping[Role, Privileges] = Field(description="Privileges per role on the model.")
    experiment_access: Mapping[Role, str] = Field(description="ACL level per role on the experiment.")
    protect: bool
    provider: databricks.Provider


class ModelRegistry(PlatformComponent):
    """Experiment + UC registered model, both administered by the job principal."""

    AREA = "databricks"

    model_full_name: pulumi.Output[str]
    model: databricks.RegisteredModel
    model_grants: databricks.Grants
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
            access_controls=access_controls(args.experiment_access, args.principals),
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
        self.model_grants = databricks.Grants(
            f"{name}-model-grants",
            model=self.model_full_name,
            grants=grants_for(args.model_privileges, args.principals),
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider, depends_on=[self.model])),
        )
        self.experiment_id = experiment.id
        self.register(model_full_name=self.model_full_name, experiment_id=self.experiment_id)


def champion(
    model_full_name: pulumi.Input[str],
    *,
    after: list[pulumi.Resource],
    provider: databricks.Provider,
    parent: pulumi.Resource,
) -> pulumi.Output[Champion]:
    """The version the ``champion`` alias points at (None while training has not set it), and
    whether the caller could only browse the model.

    Read after ``after`` (the model and its grants). Reading a model needs ownership or EXECUTE
    (the deployers hold EXECUTE, infra/access.py); with ``include_browse`` a caller holding only
    BROWSE gets its metadata, marked ``browse_only``
    (https://docs.databricks.com/api/uc-registered-models/v1/get-registered-model): whether that
    answer carries aliases is not documented, so a browse-only answer without them decides nothing.
    """
    info = databricks.get_registered_model_output(
        full_name=model_full_name,
        include_aliases=True,
        include_browse=True,
        opts=pulumi.InvokeOutputOptions(provider=provider, parent=parent, depends_on=after),
    )

    def read(result: databricks.GetRegisteredModelResult) -> Champion:
        models = result.model_infos or []
        for model in models:
            for alias in model.aliases or []:
                if alias.alias_name == CHAMPION and alias.version_num is not None:
                    return Champion(str(alias.version_num))
        return Champion(None, browse_only=any(model.browse_only for model in models))

    return info.apply(read)


class ServingEndpointArgs(ComponentArgs):
    endpoint_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
    model_full_name: StrInput
    model: databricks.RegisteredModel
    model_grants: databricks.Grants = Field(description="EXECUTE for the creator: it reads the model.")
    initial_model_version: str = Field(
        pattern=r"^[1-9][0-9]*$", description="Version served at creation: the champion's."
    )
    workload_size: WorkloadSize
    scale_to_zero: bool
    catalog_name: StrInput
    schema_name: StrInput
    principals: Mapping[Role, StrInput] = Field(description="Grantee per role.")
    endpoint_access: Mapping[Role, str] = Field(description="ACL level per role on the endpoint.")
    tags: Mapping[str, str]
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
                        depends_on=[args.model, args.model_grants],
                    ),
                )
            ),
        )
        databricks.Permissions(
            f"{name}-endpoint-permissions",
            serving_endpoint_id=self.endpoint.serving_endpoint_id,
            access_controls=access_controls(args.endpoint_access, args.principals),
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider)),
        )
        self.endpoint_name = args.endpoint_name
        # The AI gateway writes requests and responses here (created with the endpoint).
        self.payload_table = pulumi.Output.concat(
            args.catalog_name, ".", args.schema_name, ".", args.inference_table_prefix, "_payload"
        )
        self.register(endpoint_name=self.endpoint_name, payload_table=self.payload_table)
