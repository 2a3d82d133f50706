"""The optional account-level step of the bootstrap (docs/bootstrap.md, "The Databricks account").

With ``databricks.accountId`` set, the bootstrap knows which account objects the environments need
(``bootstrap/account_plan.py``) and exports them as ``accountObjects``, with each deployer's
application id. With ``databricks.manageAccount`` as well (``make bootstrap`` sets it once an
account admin runs it), it also creates them (``infra/account_access.py``). Otherwise
``make bootstrap`` prints the account CLI commands an account admin runs instead
(``bootstrap/account_commands.py``), from that same output. Whether they are created is a
setting of the stack, never who runs it: a run by someone else must not delete them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import pulumi

from bootstrap.account_plan import ROOT, AccountPlan, account_plan
from bootstrap.settings import BootstrapSettings
from core.environment import Environment
from infra.account_access import AccountDeployer, DatabricksAccount, DatabricksAccountArgs
from infra.naming import DatabricksNames

ACCOUNT_COMPONENT = "databricks-account"


class DeployerLogin(Protocol):
    """What the account step reads of an environment's deployer identity."""

    @property
    def client_id(self) -> str | pulumi.Output[str]: ...


def build_account(
    settings: BootstrapSettings, deployers: Mapping[Environment, DeployerLogin], root: Path = ROOT
) -> dict[str, Any] | None:
    """Create the account objects where the stack manages them; their description for the output."""
    plan = account_plan(settings, root)
    if plan is None:
        return None
    prefix = settings.platform.name_prefix
    members = {
        env.value: AccountDeployer(
            group=plan.deployers_groups[env],
            application_id=deployer.client_id,
            display_name=DatabricksNames(prefix, env).deployer,
        )
        for env, deployer in deployers.items()
        if env in plan.deployers_groups
    }
    if settings.databricks.manage_account:
        DatabricksAccount(
            ACCOUNT_COMPONENT,
            DatabricksAccountArgs(
                account_id=plan.account_id, groups=tuple(g.name for g in plan.groups), deployers=members
            ),
        )
    return account_output(plan, settings, members)


def account_output(
    plan: AccountPlan, settings: BootstrapSettings, members: Mapping[str, AccountDeployer]
) -> dict[str, Any]:
    """The ``accountObjects`` output: what ``make bootstrap`` prints commands from when not managed."""
    return {
        "accountId": plan.account_id,
        "managed": settings.databricks.manage_account,
        "metastoreId": settings.databricks.metastore_id,
        "groups": [{"name": g.name, "roles": list(g.roles)} for g in plan.groups],
        "deployers": {
            env: {"group": m.group, "applicationId": m.application_id, "displayName": m.display_name}
            for env, m in sorted(members.items())
        },
        "metastorePrivileges": list(plan.metastore_privileges),
    }
