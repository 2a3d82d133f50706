"""All Databricks workloads of one environment, on an explicit provider built from the workspace.

What the environment shares is created once: provider -> identities (job principal, its rule set,
the deployer, the PR-preview identity) -> Unity Catalog (credential, location, catalog; grants name
the principal and every project's developers) -> secret scope. Then each ML project
(infra/ml_project.py) gets its own schema and volume, wheel upload, jobs, experiment and model,
serving endpoint and monitor, from its own wheel.
"""

from __future__ import annotations

import pulumi

from infra.access import Role
from infra.base import PlatformComponent, StrInput
from infra.databricks_args import DatabricksWorkloadsArgs
from infra.databricks_provider import create_provider, workspace_url
from infra.jobs import check_parameters
from infra.ml_project import MlProject, MlProjectArgs, SharedWorkloads
from infra.secret_scope import JobSecretScope, SecretScopeArgs
from infra.unity_catalog import UnityCatalog, UnityCatalogArgs
from infra.wheel import WheelContents, read_wheel
from infra.workload_identity import WorkloadIdentity, WorkloadIdentityArgs

# The component's outputs: typed attributes below, registered under the same keys.
OUTPUTS = (
    "workspace_url",
    "service_principal_application_id",
    "catalog_name",
    "secret_scope_name",
    "projects",
)


class DatabricksWorkloads(PlatformComponent):
    AREA = "databricks"

    workspace_url: pulumi.Output[str]
    service_principal_application_id: pulumi.Output[str]
    catalog_name: pulumi.Output[str]
    secret_scope_name: pulumi.Output[str]
    projects: dict[str, MlProject]

    def __init__(
        self, name: str, args: DatabricksWorkloadsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # Everything that can fail on the inputs fails here, before any resource is registered:
        # every project's wheel, and every parameter its job graph names.
        wheels: dict[str, WheelContents] = {}
        for project in args.projects:
            wheels[project.name] = read_wheel(project.wheel_path)
            check_parameters(wheels[project.name].graph, args.parameter_values(project))
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
                workspace_numeric_id=args.workspace_numeric_id,
                storage_root=args.uc_storage_root,
                catalog=args.catalog,
                # USE CATALOG for every project's developers: each reaches its own schema.
                principals={**principals, Role.DEVELOPERS: tuple(p.developers_group for p in args.projects)},
                grants=access.uc_grants,
                owner=args.deployers_group,
                storage_access=args.uc_storage_access,
                protect=protect,
                force_destroy=args.force_destroy,
                provider=provider,
            ),
            self.child_opts(),
        )
        moved = next((p.name for p in args.projects if p.state_from_single_project), None)
        scope = JobSecretScope(
            f"{name}-secrets",
            SecretScopeArgs(
                scope_name=names.secret_scope,
                principals=principals,
                acls=access.secrets,
                developers={p.name: p.developers_group for p in args.projects},
                moved_project=moved,
                provider=provider,
            ),
            self.child_opts(),
        )
        shared = SharedWorkloads(
            workloads=args,
            provider=provider,
            identity=identity,
            catalog=catalog,
            principals=principals,
            protect=protect,
            parent=self,
        )
        self.projects = {
            project.name: MlProject(
                f"{name}-{project.name}",
                MlProjectArgs(
                    project=project,
                    wheel=wheels[project.name],
                    parameter_values=args.parameter_values(project),
                    shared=shared,
                    deployed=args.deployed[project.name],
                ),
                self.child_opts(),
            )
            for project in args.projects
        }
        self.workspace_url = workspace_url(args.workspace_host)
        self.service_principal_application_id = identity.application_id
        self.catalog_name = catalog.catalog_name
        self.secret_scope_name = scope.scope_name
        self.register(**{key: getattr(self, key) for key in OUTPUTS[:-1]}, projects=sorted(self.projects))
