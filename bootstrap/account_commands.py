"""The account CLI commands an account admin runs where the bootstrap does not manage the account.

Rendered from the bootstrap's own ``accountObjects`` output (bootstrap/account.py), so the names
and ids are those the plan holds. Commands of the Databricks CLI (0.205 and above;
https://learn.microsoft.com/azure/databricks/dev-tools/cli/reference/account-groups-commands,
``account-service-principals-commands``, ``grants-commands``); ``jq`` picks the ids out of their
JSON answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SCIM_PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _quoted(document: Mapping[str, Any]) -> str:
    return "'" + json.dumps(document) + "'"


def account_commands(objects: Mapping[str, Any]) -> list[str]:
    """Shell lines, for an account admin (groups, principals, memberships)."""
    lines = [
        f"# as an account admin: databricks auth login --host https://accounts.azuredatabricks.net "
        f"--account-id {objects['accountId']}"
    ]
    lines += [
        f"databricks account groups create --json {_quoted({'displayName': group['name']})}"
        for group in objects["groups"]
    ]
    for deployer in objects["deployers"].values():
        principal = {
            "applicationId": deployer["applicationId"],
            "displayName": deployer["displayName"],
            "active": True,
        }
        lines.append(f"databricks account service-principals create --json {_quoted(principal)}")
    for deployer in objects["deployers"].values():
        group_filter = f'displayName eq "{deployer["group"]}"'
        principal_filter = f'applicationId eq "{deployer["applicationId"]}"'
        patch = json.dumps(
            {
                "schemas": [SCIM_PATCH],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": "SP_ID"}]}],
            }
        ).replace('"SP_ID"', '"\'"$sp_id"\'"')
        lines += [
            f"group_id=$(databricks account groups list --filter '{group_filter}' -o json | jq -r '.[0].id')",
            f"sp_id=$(databricks account service-principals list --filter '{principal_filter}' -o json "
            "| jq -r '.[0].id')",
            f"databricks account groups patch \"$group_id\" --json '{patch}'",
        ]
    return lines


def metastore_commands(objects: Mapping[str, Any]) -> list[str]:
    """Shell lines, for a metastore admin, against any workspace on the metastore (workspace API only)."""
    metastore = objects.get("metastoreId")
    lines = ["# as a metastore admin, with DATABRICKS_HOST a workspace on the metastore:"]
    if metastore is None:
        lines.append("METASTORE_ID=$(databricks metastores current -o json | jq -r .metastore_id)")
        metastore = "$METASTORE_ID"
    changes = [
        {"principal": group, "add": list(objects["metastorePrivileges"])}
        for group in sorted({d["group"] for d in objects["deployers"].values()})
    ]
    lines.append(f"databricks grants update metastore {metastore} --json {_quoted({'changes': changes})}")
    return lines
