"""All Databricks workloads of one environment, on an explicit provider built from the workspace.

Order of creation follows the data: provider -> identities (job principal, its rule set, the
deployer) -> Unity Catalog (grants name the principal) -> wheel upload (into the volume) ->
experiment + registered model -> secret scope -> jobs (run as the principal, after its rule set,
installing the uploaded wheel) -> serving endpoint and monitor, once what they need exists.
"""

from __future__ import annotations

import pulumi
import pulumi_databricks as databricks

from infra.access import Role, Securable, WorkspaceObject
from infra.artifacts import WheelArtifact, WheelArtifactArgs
from infra.base import PlatformComponent, StrInput
from infra.databricks_args import DatabricksWorkloadsArgs
from infra.databricks_provider import create_provider, workspace_url
from infra.job_graph import read_wheel
from infra.jobs import JobsArgs, WheelJobs, check_parameters
from infra.model_monitoring import PREDICTIONS_TABLE, ModelMonitor, ModelMonitorArgs, table_exists
from infra.secret_scope import JobSecretScope, SecretScopeArgs
from infra.serving import (
    ModelRegistry,
    ModelRegistryArgs,
    ServingEndpoint,
    ServingEndpointArgs,
    champion_version,
)
from infra.unity_catalog import UnityCatalog, UnityCatalogArgs
from infra.workload_identity import WorkloadIdentity, WorkloadIdentityArgs

# The component's outputs: typed attributes below, registered under the same keys.
OUTPUTS = (
    "workspace_url",
    "service_principal_application_id",
    "catalog_name",
    "schema_name",
    "wheel_volume_path",
    "job_ids",
    "registered_model_name",
    "experiment_name",
    "secret_scope_name",
    "serving_endpoint_name",
)


class DatabricksWorkloads(PlatformComponent):
    AREA = "databricks"

    workspace_url: pulumi.Output[str]
    service_principal_application_id: pulumi.Output[str]
    catalog_name: pulumi.Output[str]
    schema_name: pulumi.Output[str]
    wheel_volume_path: str
    job_ids: dict[str, pulumi.Output[str]]
    registered_model_name: pulumi.Output[str]
    experiment_name: str
    secret_scope_name: pulumi.Output[str]
    serving_endpoint_name: pulumi.Output[str | None] | None

    def __init__(
        self, name: str, args: DatabricksWorkloadsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Everything that can fail on the inputs fails here, before any resource is registered.
        wheel = read_wheel(args.wheel_path)
        parameter_values = args.parameter_values()
        check_parameters(wheel.graph, parameter_values)
        super().__init__(name, opts)
        env, protect, access, names = args.environment, args.protect, args.access, args.names
        provider = create_provider(
            f"{name}-provider",
            host=args.workspace_host,
            workspace_resource_id=args.workspace_resource_id,
            auth_type=args.auth_type,
            azure_client_id=args.deployer_client_id,
            azure_tenant_id=args.tenant_id,
            opts=self.child_opts(),
        )
        identity = WorkloadIdentity(
            f"{name}-identity",
            WorkloadIdentityArgs(
                display_name=names.job_principal,
                account_id=args.account_id,
                deployers_group=args.deployers_group,
                deployer_application_id=args.deployer_application_id,
                deployer_display_name=names.deployer,
                preview_application_id=args.preview_application_id,
                preview_display_name=names.preview,
                provider=provider,
            ),
            self.child_opts(),
        )
        principals: dict[Role, StrInput] = {
            Role.JOB_PRINCIPAL: identity.application_id,
            Role.DEVELOPERS: args.developers_group,
            Role.READERS: args.readers_group,
            Role.DEPLOYERS: args.deployers_group,
            Role.PREVIEW: identity.preview_application_id,
        }
        if args.require_approval:
            # Tags the challenger approved, then starts the release job (docs/ml.md, approval).
            principals[Role.APPROVERS] = args.approvers_group
        catalog = UnityCatalog(
            f"{name}-uc",
            UnityCatalogArgs(
                environment=env,
                metastore_name=names.metastore_objects,
                access_connector_id=args.access_connector_id,
                storage_root=args.uc_storage_root,
                catalog=args.catalog,
                schema_name=args.schema_name,
                principals=principals,
                grants=access.uc_grants,
                owner=args.deployers_group,
                storage_access=args.uc_storage_access,
                protect=protect,
                force_destroy=args.force_destroy,
                provider=provider,
            ),
            self.child_opts(),
        )
        artifact = WheelArtifact(
            f"{name}-artifact",
            WheelArtifactArgs(
                wheel=wheel,
                volume_path=catalog.volume_path,
                volume=catalog.volume,
                source_root=args.project_root,
                provider=provider,
            ),
            self.child_opts(),
        )
        registry = ModelRegistry(
            f"{name}-registry",
            ModelRegistryArgs(
                experiment_name=args.experiment_name,
                catalog_name=catalog.catalog_name,
                schema_name=catalog.schema_name,
                model_name=args.model_name,
                principals=principals,
                model_privileges=access.uc_grants[Securable.MODEL],
                experiment_access=access.workspace[WorkspaceObject.EXPERIMENT],
                protect=protect,
                provider=provider,
            ),
            self.child_opts(),
        )
        scope = JobSecretScope(
            f"{name}-secrets",
            SecretScopeArgs(
                scope_name=names.secret_scope,
                principals=principals,
                acls=access.secrets,
                provider=provider,
            ),
            self.child_opts(),
        )
        jobs = WheelJobs(
            f"{name}-jobs",
            JobsArgs(
                environment=env,
                names=names,
                graph=wheel.graph,
                wheel_path=artifact.path,
                wheel_upload=artifact.file,
                parameter_values=parameter_values,
                run_as=identity.application_id,
                run_as_role=identity.run_as_role,
                compute_mode=args.compute_mode,
                cluster=args.cluster,
                failure_emails=args.failure_notification_emails,
                schedules_paused=args.schedules_paused,
                principals=principals,
                job_access=access.workspace[WorkspaceObject.JOB],
                approvers_group=args.approvers_group if args.require_approval else None,
                tags=args.tags,
                provider=provider,
            ),
            self.child_opts(),
        )
        self.serving_endpoint_name = None
        if args.create_serving_endpoint:
            champion = champion_version(
                registry.model_full_name,
                after=[registry.model, registry.model_grants],
                provider=provider,
                parent=self,
            )

            def serve(version: str | None) -> str | None:
                # Registered once the champion is known: nothing to serve before training set it.
                if version is None:
                    return None
                ServingEndpoint(
                    f"{name}-serving",
                    ServingEndpointArgs(
                        endpoint_name=args.endpoint_name,
                        model_full_name=registry.model_full_name,
                        model=registry.model,
                        model_grants=registry.model_grants,
                        initial_model_version=version,
                        workload_size=args.serving_workload_size,
                        scale_to_zero=args.serving_scale_to_zero,
                        catalog_name=catalog.catalog_name,
                        schema_name=catalog.schema_name,
                        principals=principals,
                        endpoint_access=access.workspace[WorkspaceObject.SERVING_ENDPOINT],
                        tags={**args.tags, "environment": env.value},
                        protect=protect,
                        provider=provider,
                    ),
                    self.child_opts(),
                )
                return args.endpoint_name

            self.serving_endpoint_name = champion.apply(serve)
        if args.model_monitoring:
            self._monitor(name, args, catalog, provider)
        self.workspace_url = workspace_url(args.workspace_host)
        self.service_principal_application_id = identity.application_id
        self.catalog_name, self.schema_name = catalog.catalog_name, catalog.schema_name
        self.wheel_volume_path = artifact.path
        self.job_ids = jobs.job_ids
        self.registered_model_name = registry.model_full_name
        self.experiment_name = args.experiment_name
        self.secret_scope_name = scope.scope_name
        self.register(**{key: getattr(self, key) for key in OUTPUTS})

    def _monitor(
        self, name: str, args: DatabricksWorkloadsArgs, catalog: UnityCatalog, provider: databricks.Provider
    ) -> None:
        """The quality monitor, registered once the predictions table it watches exists."""
        exists = table_exists(
            catalog.catalog_name,
            catalog.schema_name,
            PREDICTIONS_TABLE,
            after=[catalog.schema],
            provider=provider,
            parent=self,
        )

        def monitor(found: bool) -> bool:
            if found:
                ModelMonitor(
                    f"{name}-monitoring",
                    ModelMonitorArgs(
                        table_name=pulumi.Output.concat(
                            catalog.catalog_name, ".", catalog.schema_name, ".", PREDICTIONS_TABLE
                        ),
                        output_schema=pulumi.Output.concat(catalog.catalog_name, ".", catalog.schema_name),
                        assets_dir=args.names.monitoring_assets,
                        failure_emails=args.failure_notification_emails,
                        provider=provider,
                    ),
                    self.child_opts(),
                )
            return found

        exists.apply(monitor)
