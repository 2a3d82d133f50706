"""Is the operator an account admin? One read-only account API call, before anything is planned.

``make bootstrap`` asks the account API, through the databricks-sdk with the operator's ``az
login`` (``auth_type = azure-cli``, the same as the account step's provider: databricks-sdk-py
``credentials_provider.py``, ``azure_cli``), for the account's Unity Catalog metastores
(``GET /api/2.0/accounts/{account_id}/metastores``, ``AccountMetastoresAPI.list`` in
``databricks/sdk/service/catalog.py``). The account API answers account admins only; a refusal
(``PermissionDenied``, ``Unauthenticated``) means "not an admin", any other error stops
``make bootstrap`` before it runs anything. The answer also names the region's metastore.
"""

from __future__ import annotations

from dataclasses import dataclass

from databricks.sdk import AccountClient
from databricks.sdk.config import Config
from databricks.sdk.environments import get_environment_for_hostname
from databricks.sdk.errors import PermissionDenied, Unauthenticated

from infra.account_access import ACCOUNT_AUTH_TYPE, ACCOUNT_HOST


@dataclass(frozen=True)
class AccountAccess:
    admin: bool
    metastore_id: str | None  # the one in the bootstrap's region, when there is one
    refusal: str = ""  # what the account API said to a non-admin


def account_access(account_id: str, region: str, host: str = ACCOUNT_HOST) -> AccountAccess:
    """Whether the ``az login`` may manage the account, and the region's metastore."""
    config = Config(
        host=host,
        account_id=account_id,
        auth_type=ACCOUNT_AUTH_TYPE,
        # Azure's public cloud, as the sdk infers it from the account host (environments.py), also
        # when a test sends the requests elsewhere: azure-cli asks `az` for a token for its app id.
        databricks_environment=get_environment_for_hostname(ACCOUNT_HOST),
    )
    client = AccountClient(config=config)
    try:
        metastores = list(client.metastores.list())
    except (PermissionDenied, Unauthenticated) as refusal:
        return AccountAccess(admin=False, metastore_id=None, refusal=str(refusal))
    in_region = [m.metastore_id for m in metastores if (m.region or "").lower() == region.lower()]
    return AccountAccess(admin=True, metastore_id=in_region[0] if in_region else None)
