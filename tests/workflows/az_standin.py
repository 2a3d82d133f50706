"""A stand-in ``az`` for the pipeline rehearsal: the runner's Azure CLI after ``azure/login``.

The rehearsal's ``azure/login`` leaves the login in ``$AZURE_CONFIG_DIR/standin-login.json`` (the
client id it logged in as). A job's ``az account get-access-token --resource <resource>`` then puts
that resource's token into the CLI's token cache, ``$AZURE_CONFIG_DIR/standin-tokens.json``: the real
CLI keeps service-principal tokens in its persisted MSAL cache (Azure/azure-cli
src/azure-cli-core/azure/cli/core/auth/identity.py, ``_msal_app_kwargs``: ``token_cache``) and MSAL
answers later asks from it (application.py, ``acquire_token_for_client``). The stand-in ``pulumi``
reads that cache where a provider would ask ``az`` once the ID token azure/login passed has expired
(pulumi_standin.py, the workspace's sign-in). Any other ``az`` command is not modelled and fails.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

LOGIN = "standin-login.json"
TOKENS = "standin-tokens.json"


def config_dir() -> Path:
    return Path(os.environ["AZURE_CONFIG_DIR"])


def cached_resources(client_id: str) -> set[str]:
    """The resources whose tokens the CLI holds for ``client_id``."""
    path = config_dir() / TOKENS
    tokens = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return set(tokens.get(client_id, []))


def main(argv: list[str]) -> int:
    login = config_dir() / LOGIN
    if argv[:2] != ["account", "get-access-token"] or "--resource" not in argv:
        sys.stderr.write(f"az (stand-in): `az {' '.join(argv)}` is not modelled\n")
        return 2
    if not login.is_file():
        sys.stderr.write("ERROR: Please run 'az login' to setup account.\n")
        return 1
    client = json.loads(login.read_text(encoding="utf-8"))["clientId"]
    resource = argv[argv.index("--resource") + 1]
    path = config_dir() / TOKENS
    tokens = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    tokens[client] = sorted({*tokens.get(client, []), resource})
    path.write_text(json.dumps(tokens), encoding="utf-8")
    sys.stdout.write(f"az (stand-in): a token for {resource} as {client}, now in the CLI's token cache\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
