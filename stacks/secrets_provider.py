"""Refuse a stack whose stack file names no Key Vault secrets provider, before ``pulumi`` runs.

    python -m stacks.secrets_provider dev      prints secrets-provider=<url> (a GitHub step output),
                                               or exits 2 with the reason

``make bootstrap``'s handoff writes ``secretsprovider: azurekeyvault://...`` into each
``Pulumi.<env>.yaml``, and CI only has what is committed. Without it the CLI does not fall back to
the secrets manager recorded in the state (that fallback is off unless
PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER is set: pulumi/pulumi ``pkg/cmd/pulumi/stack/secrets.go``,
``GetSecretsManager``; ``sdk/go/common/env/env.go``): it makes a new passphrase manager
(``pkg/backend/diy/stack.go``, ``DefaultSecretManager``), which takes PULUMI_CONFIG_PASSPHRASE
even when it is set to the empty string (``pkg/secrets/passphrase/manager.go`` reads it with
``os.LookupEnv``), and an update then writes the state encrypted with that passphrase. Every
stack CI previews or deploys uses its bootstrap key (docs/security.md), so the workflows run this
first and export no passphrase at all.

``encryptedkey`` (the stack's data key, wrapped by the Key Vault key) is not needed in the
committed file. With the provider named and no key, the CLI wraps a new data key with the Key
Vault key (``pkg/secrets/cloud/manager.go``, ``NewCloudSecretsManager``: "if there is no key ...
generate the new key") and writes it into the runner's copy of the file (``SecretsManagerMustSave``,
``pkg/cmd/pulumi/config/io.go``, ``getAndSaveSecretsManager``); the state records the manager it
was written with and is read back with that one (``NewCloudSecretsManagerFromState``), so every run
reads the last run's state whatever key it wrapped. A file committed with a key (a person's
``pulumi stack init``, or ``pulumi config set --secret``) keeps it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from core.environment import Environment

ROOT = Path(__file__).resolve().parent.parent
EXIT_BAD_CONFIG = 2
KEY_VAULT = "azurekeyvault://"


class SecretsProviderError(Exception):
    """The stack file would make the CLI fall back to a passphrase."""


def check_secrets_provider(stack: str, root: Path = ROOT) -> str:
    """The stack file's Key Vault secrets provider URL; raises SecretsProviderError without one."""
    stack_file = root / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    provider = str(document.get("secretsprovider") or "")
    if provider.startswith(KEY_VAULT):
        return provider
    raise SecretsProviderError(
        f"{stack_file.name} names no Key Vault secrets provider "
        f"(secretsprovider: {provider or '(missing)'}): without it the CLI encrypts this stack with a "
        "passphrase instead of its key. Commit the file as `make bootstrap` wrote it (secretsprovider: "
        f"'azurekeyvault://<vault>.vault.azure.net/keys/stack-{stack}'; docs/bootstrap.md)"
    )


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.secrets_provider", description=__doc__.splitlines()[0]
    )
    parser.add_argument("stack", choices=[e.value for e in Environment])
    args = parser.parse_args(argv)
    try:
        provider = check_secrets_provider(args.stack, root)
    except SecretsProviderError as error:
        sys.stderr.write(f"error: {error}\n")
        return EXIT_BAD_CONFIG
    sys.stdout.write(f"secrets-provider={provider}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
