"""The typed settings of one bootstrap stack (one organisation or subscription): ``Pulumi.<stack>.yaml``.

Every key lives under the ``mlops-bootstrap:`` namespace; ``build_bootstrap_settings`` is pure
(stack name + raw values in, settings or ConfigError out), like ``stacks.loading.build_settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError, model_validator

from core.environment import Environment
from core.pulumi_project import BOOTSTRAP_PROJECT
from infra.bootstrap_interface import Guid
from infra.bootstrap_naming import bootstrap_names
from infra.naming import NamingError
from stacks.loading import ConfigError, Problem, problem_from
from stacks.settings_base import Section
from stacks.types import (
    LOWERCASE_GUID_PATTERN,
    AzureLocation,
    GithubName,
    NamePrefix,
    ReviewerType,
    StorageSku,
    SubscriptionId,
)

NAMESPACE = f"{BOOTSTRAP_PROJECT}:"
STACK_DIRECTORY = "bootstrap/"  # where this project's stack files live, for error messages


class BootstrapPlatform(Section):
    subscription_id: SubscriptionId = Field(
        alias="subscriptionId",
        description="Azure subscription (GUID) of the bootstrap's resources; the login must be to it",
    )
    location: AzureLocation = Field("westeurope", description="Azure region of the bootstrap's resources")
    name_prefix: NamePrefix = Field("mlops", description="start of every Azure name (as in the environments)")
    name_suffix_rotation: int = Field(
        0, ge=0, le=999, description="bump to get new globally unique names (escape a soft-deleted vault)"
    )
    owner: str = Field("platform-team", min_length=1, description="`owner` tag: who to call")
    cost_center: str = Field("mlops", min_length=1, description="`cost-center` tag")


class GithubActor(Section):
    type: ReviewerType = Field(alias="type", description="user or team")
    name: GithubName = Field(alias="name", description="GitHub login, or team slug in the owner organisation")


class BootstrapGithub(Section):
    owner: GithubName = Field(alias="owner", description="GitHub organisation or user owning the repo")
    repository: GithubName = Field(alias="repository", description="repository name (without owner)")
    release_managers: tuple[GithubActor, ...] = Field(
        alias="releaseManagers",
        min_length=1,
        description="who may create release/* branches and push v* tags (the only refs uat and prod "
        "deploy from); never a prod reviewer",
    )
    prod_reviewers: tuple[GithubActor, ...] = Field(
        alias="prodReviewers",
        min_length=1,
        max_length=6,
        description="who approves a prod deployment (GitHub allows six); never a release manager",
    )
    prod_wait_timer_minutes: int = Field(
        0, ge=0, le=43200, description="delay before an approved prod deployment starts"
    )
    code_owners: GithubName = Field(
        alias="codeOwners",
        description="team slug whose review every change to CI, the policy pack, the bootstrap and "
        "the identities needs (.github/CODEOWNERS, written by make bootstrap)",
    )
    required_approvals: int = Field(
        1, ge=1, le=10, description="approving reviews a pull request to main needs"
    )

    @model_validator(mode="after")
    def _reviewers_are_not_release_managers(self) -> BootstrapGithub:
        both = sorted({(a.type.value, a.name.lower()) for a in self.release_managers}
                      & {(a.type.value, a.name.lower()) for a in self.prod_reviewers})  # fmt: skip
        if both:
            named = ", ".join(f"{kind} {name}" for kind, name in both)
            raise ValueError(
                f"{named} both pushes release refs and approves prod: one person could ship alone; "
                "name different teams in releaseManagers and prodReviewers"
            )
        return self


# An identity's ARM id: what `pulumi stack output deployerIdentityId -s <env>` prints.
IDENTITY_ID_PATTERN = (
    r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/"
    r"Microsoft\.ManagedIdentity/userAssignedIdentities/[^/]+$"
)


class DeployerIds(Section):
    """A deployed environment's deployer, which the bootstrap adopts where it is (import by id)
    instead of creating one (infra/bootstrap_deployer.py; docs/bootstrap.md, "The deployers")."""

    identity_id: str = Field(
        alias="identityId",
        pattern=IDENTITY_ID_PATTERN,
        description="the environment stack's output deployerIdentityId "
        "(`pulumi stack output deployerIdentityId -s <env>`)",
    )

    @model_validator(mode="before")
    @classmethod
    def _ids_became_the_identity(cls, values: Any) -> Any:
        if isinstance(values, Mapping) and {"principalId", "clientId"} & set(values):
            raise ValueError(
                "principalId and clientId are no longer set here: the bootstrap owns the deployer now; "
                "replace them with identityId (`pulumi stack output deployerIdentityId -s <env>`)"
            )
        return values

    @property
    def subscription_id(self) -> str:
        return self.identity_id.split("/")[2]

    @property
    def resource_group_name(self) -> str:
        return self.identity_id.split("/")[4]

    @property
    def identity_name(self) -> str:
        return self.identity_id.rsplit("/", 1)[1]


class BootstrapDatabricks(Section):
    """The optional account-level step (bootstrap/account.py, docs/bootstrap.md "The Databricks account")."""

    account_id: str | None = Field(
        None,
        alias="accountId",
        pattern=LOWERCASE_GUID_PATTERN,
        description="Databricks account id, as in the environments' stack files; unset: no account step",
    )
    manage_account: bool = Field(
        False,
        alias="manageAccount",
        description="the bootstrap owns the account groups and the deployers' memberships (set by "
        "make bootstrap when an account admin runs it; from then on only an account admin may run it)",
    )
    metastore_id: str | None = Field(
        None,
        alias="metastoreId",
        pattern=LOWERCASE_GUID_PATTERN,
        description="the region's Unity Catalog metastore (make bootstrap writes it for an account admin)",
    )

    @model_validator(mode="after")
    def _managing_needs_an_account(self) -> BootstrapDatabricks:
        if self.manage_account and self.account_id is None:
            raise ValueError("manageAccount is true but accountId is not set: name the Databricks account")
        return self


class StateSettings(Section):
    storage_sku: StorageSku = Field(StorageSku.STANDARD_ZRS, description="redundancy of the state account")
    soft_delete_days: int = Field(
        30, ge=7, le=365, description="days deleted state blobs and containers are kept"
    )
    vault_soft_delete_days: int = Field(90, ge=7, le=90, description="days a deleted secrets vault is kept")
    protect: bool = Field(
        True, description="protect=True and retain-on-delete on account, container, vault, keys"
    )


class BootstrapSettings(Section):
    """Everything one bootstrap stack needs; the stack name is the organisation's, not an environment."""

    stack: str = Field(alias="stack", description="the bootstrap stack's name (not a config key)")
    platform: BootstrapPlatform = Field(alias="platform")
    github: BootstrapGithub = Field(alias="github")
    state: StateSettings = Field(default_factory=StateSettings)
    databricks: BootstrapDatabricks = Field(default_factory=BootstrapDatabricks)
    environments: tuple[Environment, ...] = Field(
        tuple(Environment), min_length=1, description="environments that get a secrets-provider key"
    )
    operators: tuple[Guid, ...] = Field(
        (),
        description="Entra object ids (a group is best) of the people who run pulumi by hand (sandbox, "
        "first ups): the state and every key; an Owner has no data-plane access without it",
    )
    deployers: dict[Environment, DeployerIds] = Field(
        default_factory=dict,
        description="environment -> its deployed deployer to adopt (identityId); only environments "
        "deployed before the bootstrap created their deployers; a new organisation leaves it empty",
    )

    @model_validator(mode="after")
    def _deployers_have_keys(self) -> BootstrapSettings:
        if len(set(self.environments)) != len(self.environments):
            raise ValueError("environments lists an environment twice")
        if len(set(self.operators)) != len(self.operators):
            raise ValueError("operators lists an object id twice")
        unknown = sorted(set(self.deployers) - set(self.environments))
        if unknown:
            allowed = ", ".join(self.environments)
            raise ValueError(f"deployers names {', '.join(unknown)}, not in environments; allowed: {allowed}")
        return self


def build_bootstrap_settings(stack: str, values: Mapping[str, Any]) -> BootstrapSettings:
    """Validate one bootstrap stack's config; raise ConfigError with one line per problem."""
    problems: list[Problem] = []
    if "stack" in values:
        problems.append(
            Problem(stack, "stack", values["stack"], "remove it: the stack name is it", NAMESPACE)
        )
    try:
        settings = BootstrapSettings.model_validate({**values, "stack": stack})
    except ValidationError as error:
        problems[:0] = [problem_from(stack, d, BootstrapSettings, NAMESPACE) for d in error.errors()]
        raise ConfigError(stack, problems, STACK_DIRECTORY) from None
    try:
        bootstrap_names(
            settings.platform.name_prefix,
            settings.github.owner,
            settings.github.repository,
            settings.platform.name_suffix_rotation,
            subscription_id=settings.platform.subscription_id,
        )
    except NamingError as error:
        problems += [
            Problem(stack, "platform.namePrefix", settings.platform.name_prefix, p, NAMESPACE)
            for p in error.problems
        ]
    if problems:
        raise ConfigError(stack, problems, STACK_DIRECTORY)
    return settings
