"""One ML project hosted by an environment: everything that is its own, from its own wheel.

Its schema and volume, its wheel's upload, the jobs of its wheel's job graph, its MLflow
experiment and registered model, its serving endpoint with the inference table, the quality
monitor of its predictions, and the grants and ACLs that let its developers group touch these and
nothing of another project. What the environment shares (provider, catalog, identities, secret
scope) comes in through ``SharedWorkloads``, built once by ``DatabricksWorkloads``.

State moves, not replaces: the project that was the environment's only one before projects
existed (``ProjectArgs.state_from_single_project``) gives each child the alias of its former URN.
A component's alias is inherited by its children, their names' prefix swapped
(pulumi/pulumi pkg/resource/deploy/step_generator.go, ``inheritedChildAlias``;
tests/integration/aliases/python/rename_component), so one alias per component moves them all.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from infra.access import Role, Securable, WorkspaceObject
from infra.artifacts import WheelArtifact, WheelArtifactArgs
from infra.base import ComponentArgs, PlatformComponent, StrInput
from infra.databricks_args import DatabricksWorkloadsArgs, ProjectArgs
from infra.jobs import JobsArgs, WheelJobs
from infra.last_deploy import Champion, DeployedObjects, recorded_or_looked_up, undecidable
from infra.model_monitoring import ModelMonitor, ModelMonitorArgs, table_exists
from infra.model_serving import (
    ModelRegistry,
    ModelRegistryArgs,
    ServingEndpoint,
    ServingEndpointArgs,
    champion,
)
from infra.unity_catalog import ProjectSchema, ProjectSchemaArgs, UnityCatalog
from infra.wheel import WheelContents
from infra.workload_identity import WorkloadIdentity


class SharedWorkloads(ComponentArgs):
    """What every project of the environment uses: built once by DatabricksWorkloads."""

    workloads: DatabricksWorkloadsArgs
    provider: databricks.Provider
    identity: WorkloadIdentity
    catalog: UnityCatalog
    principals: Mapping[Role, StrInput] = Field(description="Grantee per shared role (no developers).")
    protect: bool
    parent: PlatformComponent = Field(description="DatabricksWorkloads: the former parent of moved state.")


class MlProjectArgs(ComponentArgs):
    project: ProjectArgs
    wheel: WheelContents = Field(description="The project's wheel, read and checked once.")
    parameter_values: Mapping[str, str]
    shared: SharedWorkloads
    deployed: DeployedObjects = Field(description="What the stack's last `pulumi up` created of it.")


class MlProject(PlatformComponent):
    AREA = "databricks"

    schema_name: pulumi.Output[str]
    wheel_volume_path: str
    job_ids: dict[str, pulumi.Output[str]]
    registered_model_name: pulumi.Output[str]
    experiment_name: str
    serving_endpoint_name: pulumi.Output[str | None] | None
    serving_endpoint_version: pulumi.Output[str | None] | None
    monitored_table: pulumi.Output[str | None] | None

    def __init__(self, name: str, args: MlProjectArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(name, opts)
        project, shared = args.project, args.shared
        env_args, provider, identity = shared.workloads, shared.provider, shared.identity
        env, access = env_args.environment, env_args.access
        moved = project.state_from_single_project
        principals: dict[Role, StrInput] = {**shared.principals, Role.DEVELOPERS: project.developers_group}

        def opts_for(former: str) -> pulumi.ResourceOptions:
            """A child's options; the moved project's child aliases its former name under the workloads."""
            aliases = [pulumi.Alias(name=former, parent=shared.parent)] if moved else None
            return self.child_opts(pulumi.ResourceOptions(aliases=aliases))

        former = shared.parent.name  # "databricks": the former children were "<former>-<role>"
        schema = ProjectSchema(
            f"{name}-uc",
            ProjectSchemaArgs(
                catalog_name=shared.catalog.catalog_name,
                catalog=env_args.catalog,
                schema_name=project.schema_name,
                principals=principals,
                grants=access.uc_grants,
                owner=env_args.deployers_group,
                protect=shared.protect,
                force_destroy=env_args.force_destroy,
                provider=provider,
                moved_from=shared.catalog if moved else None,
            ),
            self.child_opts(),
        )
        artifact = WheelArtifact(
            f"{name}-artifact",
            WheelArtifactArgs(
                wheel=args.wheel,
                volume_path=schema.volume_path,
                volume=schema.volume,
                source_root=env_args.project_root,
                provider=provider,
            ),
            opts_for(f"{former}-artifact"),
        )
        registry = ModelRegistry(
            f"{name}-registry",
            ModelRegistryArgs(
                experiment_name=env_args.experiment_name(project),
                catalog_name=shared.catalog.catalog_name,
                schema_name=schema.schema_name,
                model_name=project.model_name,
                principals=principals,
                model_privileges=access.uc_grants[Securable.MODEL],
                experiment_access=access.workspace[WorkspaceObject.EXPERIMENT],
                protect=shared.protect,
                provider=provider,
            ),
            opts_for(f"{former}-registry"),
        )
        jobs = WheelJobs(
            f"{name}-jobs",
            JobsArgs(
                environment=env,
                names=env_args.names,
                project=project.name,
                graph=args.wheel.graph,
                wheel_path=artifact.path,
                pinned_requirements=args.wheel.pinned_requirements,
                wheel_upload=artifact.file,
                parameter_values=args.parameter_values,
                run_as=identity.application_id,
                run_as_role=identity.run_as_role,
                compute_mode=env_args.compute_mode,
                cluster=env_args.cluster,
                failure_emails=env_args.failure_notification_emails,
                schedules_paused=project.schedules_paused,
                principals=principals,
                job_access=access.workspace[WorkspaceObject.JOB],
                approvers_group=env_args.approvers_group if env_args.require_approval else None,
                tags=env_args.tags,
                provider=provider,
            ),
            opts_for(f"{former}-jobs"),
        )
        self.serving_endpoint_name = self.serving_endpoint_version = self.monitored_table = None
        if env_args.create_serving_endpoint:
            self.serving_endpoint_version = self._serve(
                name, args, principals, registry, schema, opts=opts_for(f"{former}-serving")
            )
            endpoint_name = env_args.endpoint_name(project)
            self.serving_endpoint_name = self.serving_endpoint_version.apply(
                lambda version: endpoint_name if version is not None else None
            )
        if env_args.model_monitoring:
            self.monitored_table = self._monitor(name, args, schema, opts_for(f"{former}-monitoring"))
        self.schema_name = schema.schema_name
        self.wheel_volume_path = artifact.path
        self.job_ids = jobs.job_ids
        self.registered_model_name = registry.model_full_name
        self.experiment_name = env_args.experiment_name(project)
        self.register(
            schema_name=self.schema_name,
            wheel_volume_path=self.wheel_volume_path,
            job_ids=self.job_ids,
            registered_model_name=self.registered_model_name,
            experiment_name=self.experiment_name,
            serving_endpoint_name=self.serving_endpoint_name,
            serving_endpoint_version=self.serving_endpoint_version,
            monitored_table=self.monitored_table,
        )

    def _serve(
        self,
        name: str,
        args: MlProjectArgs,
        principals: Mapping[Role, StrInput],
        registry: ModelRegistry,
        schema: ProjectSchema,
        *,
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str | None]:
        """The endpoint of this project's model: the one the last ``up`` created, else one on the
        champion once training set the alias. Its output: the version it was created on, or None."""
        project, shared = args.project, args.shared
        env_args = shared.workloads
        env = env_args.environment
        endpoint_name = env_args.endpoint_name(project)

        def look_up() -> pulumi.Output[str | None]:
            answer = champion(
                registry.model_full_name,
                after=[registry.model, registry.model_grants],
                provider=shared.provider,
                parent=self,
            )

            def version(found: Champion) -> str | None:
                if found.version is None and found.browse_only:
                    undecidable(
                        f"{project.name}: serving endpoint {endpoint_name}",
                        "this identity may only browse the model, and the answer names no alias",
                    )
                elif found.version is None:
                    pulumi.log.info(
                        f"{project.name}: serving endpoint {endpoint_name} waits for a first training "
                        "run to set the champion alias; the next `pulumi up` after it creates the endpoint"
                    )
                return found.version

            return answer.apply(version)

        def serve(version: str | None) -> str | None:
            if version is None:
                return None
            ServingEndpoint(
                f"{name}-serving",
                ServingEndpointArgs(
                    endpoint_name=endpoint_name,
                    model_full_name=registry.model_full_name,
                    model=registry.model,
                    model_grants=registry.model_grants,
                    initial_model_version=version,
                    workload_size=project.serving_workload_size,
                    scale_to_zero=project.serving_scale_to_zero,
                    catalog_name=shared.catalog.catalog_name,
                    schema_name=schema.schema_name,
                    principals=principals,
                    endpoint_access=env_args.access.workspace[WorkspaceObject.SERVING_ENDPOINT],
                    tags={**env_args.tags, "environment": env.value, "ml-project": project.name},
                    protect=shared.protect,
                    provider=shared.provider,
                ),
                opts,
            )
            return version

        return recorded_or_looked_up(args.deployed.endpoint_version, look_up).apply(serve)

    def _monitor(
        self, name: str, args: MlProjectArgs, schema: ProjectSchema, opts: pulumi.ResourceOptions
    ) -> pulumi.Output[str | None]:
        """The quality monitor: the one the last ``up`` created, else one once the predictions
        table exists. Its output: the monitored table, or None."""
        project, shared = args.project, args.shared
        catalog_name = shared.catalog.catalog_name
        table_name = pulumi.Output.concat(
            catalog_name, ".", schema.schema_name, ".", project.predictions_table
        )

        def look_up() -> pulumi.Output[str | None]:
            exists = table_exists(
                catalog_name,
                schema.schema_name,
                project.predictions_table,
                after=[schema.schema, schema.schema_grants],
                provider=shared.provider,
                parent=self,
            )

            def found(pair: list[object]) -> str | None:
                present, table = pair
                if not present:
                    pulumi.log.info(
                        f"{project.name}: the quality monitor waits for {table}, which the batch job "
                        "writes; the next `pulumi up` after it creates the monitor (an identity without "
                        "SELECT on the table, like the PR preview's, never sees the table)"
                    )
                return str(table) if present else None

            return pulumi.Output.all(exists, table_name).apply(found)

        def monitor(table: str | None) -> str | None:
            if table is None:
                return None
            ModelMonitor(
                f"{name}-monitoring",
                ModelMonitorArgs(
                    table_name=table,
                    problem_type=project.problem_type.value,
                    output_schema=pulumi.Output.concat(catalog_name, ".", schema.schema_name),
                    assets_dir=shared.workloads.names.monitoring_assets(project.name),
                    failure_emails=shared.workloads.failure_notification_emails,
                    provider=shared.provider,
                ),
                opts,
            )
            return table

        return recorded_or_looked_up(args.deployed.monitored_table, look_up).apply(monitor)
