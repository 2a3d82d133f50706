"""Which Databricks account objects the environments need, read from the environments' own settings.

The group names have one owner: each environment's settings (``stacks/defaults.py`` and its
``Pulumi.<env>.yaml``, merged by ``stacks.loading.with_defaults``; a project's developers group by
``stacks/projects.py``). The bootstrap reads them from the committed stack files, so a group
renamed there is the group the account step creates, and nothing is copied.

The metastore privileges are what the deployers group needs to create the Unity Catalog objects
that ``infra/unity_catalog.py`` declares (docs/databricks.md, "Grants and entitlements"); every
other privilege the deployers use comes from owning those objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from bootstrap.settings import NAMESPACE, STACK_DIRECTORY, BootstrapSettings
from core.environment import Environment
from core.pulumi_project import PROJECT
from stacks.loading import ConfigError, Problem, namespace_values, problem_from, with_defaults
from stacks.offline_config import stack_config_from_file
from stacks.projects import ProjectSettings
from stacks.settings import DatabricksSettings, ModelSettings

ROOT = Path(__file__).resolve().parent.parent

# privilege on the metastore -> the object of infra/unity_catalog.py its creation needs it for
METASTORE_PRIVILEGES: Mapping[str, str] = {
    "CREATE_STORAGE_CREDENTIAL": "the storage credential on the workspace's access connector",
    "CREATE_EXTERNAL_LOCATION": "the external location on the Unity Catalog container",
    "CREATE_CATALOG": "the environment's catalog, with its managed storage in that location",
}


class GroupNames(BaseModel):
    """The parts of an environment's settings that name account groups (validated as the stack is)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    databricks: DatabricksSettings
    model: ModelSettings = ModelSettings()
    projects: tuple[ProjectSettings, ...]


@dataclass(frozen=True)
class AccountGroup:
    name: str
    roles: tuple[str, ...]  # deployers, developers, readers, approvers: what the stacks use it as
    environments: tuple[Environment, ...]  # the environments whose stack names it


@dataclass(frozen=True)
class AccountPlan:
    account_id: str
    groups: tuple[AccountGroup, ...]  # sorted by name
    deployers_groups: Mapping[Environment, str]  # each environment's own (docs/security.md)
    metastore_privileges: tuple[str, ...]


def group_names(environment: Environment, root: Path = ROOT) -> tuple[str, GroupNames]:
    """An environment's account id and group names, from ``Pulumi.<env>.yaml`` and its defaults."""
    stack = environment.value
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        problem = Problem(
            "bootstrap",
            "environments",
            stack,
            f"{path.name} does not exist: the account step reads its groups",
        )
        raise ConfigError("bootstrap", [problem], STACK_DIRECTORY)
    config, secret_keys = stack_config_from_file(path, PROJECT)
    values, _ = namespace_values(config, secret_keys)
    try:
        names = GroupNames.model_validate(with_defaults(environment, values))
    except ValidationError as error:
        raise ConfigError(stack, [problem_from(stack, d) for d in error.errors()]) from None
    return names.databricks.account_id, names


def account_plan(settings: BootstrapSettings, root: Path = ROOT) -> AccountPlan | None:
    """The account objects of every environment of the bootstrap, or None without ``databricks.accountId``."""
    account_id = settings.databricks.account_id
    if account_id is None:
        return None
    roles: dict[str, set[str]] = {}
    environments: dict[str, set[Environment]] = {}
    deployers: dict[Environment, str] = {}
    problems: list[Problem] = []

    def named(group: str, role: str, env: Environment) -> None:
        roles.setdefault(group, set()).add(role)
        environments.setdefault(group, set()).add(env)

    for env in settings.environments:
        their_account, names = group_names(env, root)
        if their_account != account_id:
            message = (
                f"Pulumi.{env.value}.yaml names account {their_account}: one account serves every environment"
            )
            problems.append(Problem(settings.stack, "databricks.accountId", account_id, message, NAMESPACE))
        databricks = names.databricks
        deployers[env] = databricks.deployers_group
        named(databricks.deployers_group, "deployers", env)
        named(databricks.readers_group, "readers", env)
        if names.model.require_approval:
            named(databricks.approvers_group, "approvers", env)
        for project in names.projects:
            named(project.developers_group, "developers", env)
    if problems:
        raise ConfigError(settings.stack, problems, STACK_DIRECTORY)
    groups = tuple(
        AccountGroup(
            name, tuple(sorted(roles[name])), tuple(e for e in Environment if e in environments[name])
        )
        for name in sorted(roles)
    )
    return AccountPlan(account_id, groups, deployers, tuple(METASTORE_PRIVILEGES))
