"""What ``make bootstrap`` does about the Databricks account, decided before it runs anything.

From the bootstrap stack file (``databricks.accountId``, ``manageAccount``) and one read-only
account API call (bootstrap/account_admin.py):

| accountId | operator | manageAccount | make bootstrap |
|---|---|---|---|
| unset | - | - | nothing about the account |
| set | account admin | any | sets manageAccount (and metastoreId): the plan creates groups, memberships |
| set | not an admin | false | the usual run, then prints the account CLI commands for an account admin |
| set | not an admin | true | stops before anything: its plan would delete what an admin's run created |

Metastore privileges are always printed (the account provider cannot grant them: docs/bootstrap.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bootstrap.account_admin import AccountAccess, account_access
from bootstrap.account_commands import account_commands, metastore_commands
from bootstrap.settings import BootstrapPlatform
from core.pulumi_project import BOOTSTRAP_PROJECT
from stacks.offline_config import stack_config_from_file

Check = Callable[[str, str], AccountAccess]
DATABRICKS = f"{BOOTSTRAP_PROJECT}:databricks"


@dataclass(frozen=True)
class AccountStep:
    config: list[list[str]] = field(default_factory=list)  # `pulumi config set` lines before `pulumi up`
    print_account: bool = False  # print the account admin's commands after the run
    refusal: str | None = None  # stop before anything, with this message


def _section(stack_file: Path) -> tuple[dict[str, object], str]:
    if not stack_file.is_file():
        return {}, str(BootstrapPlatform.model_fields["location"].default)
    config, _ = stack_config_from_file(stack_file, BOOTSTRAP_PROJECT)
    databricks = json.loads(config.get(DATABRICKS, "{}"))
    platform = json.loads(config.get(f"{BOOTSTRAP_PROJECT}:platform", "{}"))
    return databricks, str(platform.get("location") or BootstrapPlatform.model_fields["location"].default)


def account_step(stack_file: Path, check: Check = account_access) -> AccountStep:
    databricks, region = _section(stack_file)
    account_id = databricks.get("accountId")
    if not isinstance(account_id, str):
        return AccountStep()
    access = check(account_id, region)
    if access.admin:
        config = [["pulumi", "config", "set", "--path", f"{DATABRICKS}.manageAccount", "true"]]
        if access.metastore_id and not databricks.get("metastoreId"):
            config.append(
                ["pulumi", "config", "set", "--path", f"{DATABRICKS}.metastoreId", access.metastore_id]
            )
        return AccountStep(config=config)
    if databricks.get("manageAccount") is True:
        return AccountStep(
            refusal=f"{stack_file.name} manages the Databricks account {account_id} "
            "(databricks.manageAccount), "
            f"and your az login is not one of its account admins ({access.refusal}): its plan would delete "
            "the account groups. An account admin runs make bootstrap; nothing was run."
        )
    return AccountStep(print_account=True)


def printed(outputs: str, step: AccountStep) -> list[str]:
    """After the run: what a person still runs, from the ``accountObjects`` output."""
    objects = json.loads(outputs).get("accountObjects")
    if objects is None:
        return []
    return [*(account_commands(objects) if step.print_account else []), *metastore_commands(objects)]
