"""Inputs that look like credentials must reach the engine as secrets, never as plaintext.

Works on inputs as the offline plan shows them: a secret value is the string ``[secret]``. A
value known only after apply (``[computed]``) cannot be judged and is skipped. Secret
*references* (Databricks ``{{secrets/scope/key}}``, Key Vault references) are not secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .context import PolicyContext
from .props import SECRET_MASK, UNKNOWN_MASK, get_path

# A property name containing one of these words looks like it holds a credential...
SECRET_WORDS: frozenset[str] = frozenset(
    {"password", "passwd", "passphrase", "secret", "token", "credential", "credentials", "pat"}
)
# "key" alone mostly names things (`taskKey`, `environmentKey`, a tag's `key`); it is a credential
# only after a word that makes it one (`apiKey`, `accountKey`, `sharedKey`, `privateKey`).
KEY_WORDS: frozenset[str] = frozenset({"key", "keys"})
CREDENTIAL_KEY_QUALIFIERS: frozenset[str] = frozenset(
    {"api", "access", "account", "auth", "client", "encryption", "master", "primary", "private",
     "secondary", "secret", "shared", "signing", "storage", "subscription"}
)  # fmt: skip
# ...unless its last word says it only names, locates or describes one (`secretName`, `keyVaultUri`).
DESCRIPTIVE_LAST_WORDS: frozenset[str] = frozenset(
    {
        "id", "ids", "uri", "url", "name", "names", "source", "type", "version", "scope", "enabled",
        "lifetime", "expiration", "expiry", "path", "length", "count", "policy", "mode", "permissions",
    }
)  # fmt: skip
# ...or a word says what it holds is public.
HARMLESS_WORDS: frozenset[str] = frozenset({"public"})
# Names that trip the word rule but hold no credential, anywhere.
HARMLESS_NAMES: frozenset[str] = frozenset({"keyVaultUri", "keySource", "publicKey", "sshPublicKeys", "kty"})
# (type, dotted path) pairs that trip the word rule but hold no credential for that type.
HARMLESS_PATHS: frozenset[tuple[str, str]] = frozenset(
    {
        ("databricks:index/secret:Secret", "key"),  # the secret's name inside its scope
    }
)
# Properties that hold a credential whatever they are called.
SENSITIVE_PATHS: Mapping[str, tuple[str, ...]] = {
    "azure-native:keyvault:Secret": ("properties.value",),
    "databricks:index/secret:Secret": ("stringValue",),
    "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret": ("plaintextValue", "value"),
    "github:index/actionsSecret:ActionsSecret": ("plaintextValue", "value"),
}
# Values that point at a secret stored elsewhere rather than contain one.
SECRET_REFERENCE = re.compile(r"^\{\{secrets/[^/]+/[^}]+\}\}$|^@Microsoft\.KeyVault\(")


def words_of(name: str) -> list[str]:
    """``clientSecret`` -> [client, secret]; ``OPENAI_API_KEY`` -> [openai, api, key]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [word.lower() for word in re.split(r"[^A-Za-z0-9]+", spaced) if word]


def looks_secret(name: str) -> bool:
    if name in HARMLESS_NAMES:
        return False
    words = words_of(name)
    if not words or HARMLESS_WORDS.intersection(words):
        return False
    credential_key = any(
        word in KEY_WORDS and index > 0 and words[index - 1] in CREDENTIAL_KEY_QUALIFIERS
        for index, word in enumerate(words)
    )
    named_secret = bool(SECRET_WORDS.intersection(words)) or credential_key
    return named_secret and words[-1] not in DESCRIPTIVE_LAST_WORDS


def _string_leaves(value: Any, path: str, name: str) -> Iterator[tuple[str, str, str]]:
    """(dotted path, property name, value) of each string under ``value``; list items keep the list's name."""
    if isinstance(value, str):
        yield path, name, value
    elif isinstance(value, Mapping):
        for key, child in value.items():
            yield from _string_leaves(child, f"{path}.{key}" if path else str(key), str(key))
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        for child in value:
            yield from _string_leaves(child, path, name)


def _is_plaintext(value: str) -> bool:
    return bool(value) and value not in (SECRET_MASK, UNKNOWN_MASK) and not SECRET_REFERENCE.match(value)


def check_secret_inputs(resource_type: str, props: Mapping[str, Any], context: PolicyContext) -> list[str]:
    flagged: list[str] = []
    for path, name, value in _string_leaves(props, "", ""):
        harmless = (resource_type, path) in HARMLESS_PATHS
        if not harmless and looks_secret(name) and _is_plaintext(value) and path not in flagged:
            flagged.append(path)
    for path in SENSITIVE_PATHS.get(resource_type, ()):
        value = get_path(props, path)
        if isinstance(value, str) and _is_plaintext(value) and path not in flagged:
            flagged.append(path)
    # Name the property, never the value.
    return [f"{path} looks like a credential but is plaintext: make it a Pulumi secret" for path in flagged]
