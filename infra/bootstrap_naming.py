"""Physical names of the bootstrap project: the same rules as ``naming.py``, one organisation per stack.

Globally unique names (the state storage account, the secrets-provider vault) end with a short
hash of ``prefix|bootstrap:<owner>/<repository>|rotation|subscription`` (``naming.name_suffix``):
two organisations with the default prefix still get different names, known at plan time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from infra.naming import NameRule, NamingError, name_suffix


class BootstrapKind(StrEnum):
    RESOURCE_GROUP = "bootstrap resource group"
    STATE_STORAGE_ACCOUNT = "state storage account"
    SECRETS_VAULT = "secrets-provider Key Vault"  # pragma: allowlist secret
    PREVIEW_IDENTITY = "preview managed identity"
    RELEASE_PREVIEW_IDENTITY = "release preview managed identity"


BOOTSTRAP_NAME_RULES: dict[BootstrapKind, NameRule] = {
    BootstrapKind.RESOURCE_GROUP: NameRule(
        "rg-{prefix}-bootstrap", 1, 90, r"[\w\-.()]*[\w\-()]", "letters, digits, _-.() not ending in '.'"
    ),
    BootstrapKind.STATE_STORAGE_ACCOUNT: NameRule(
        "st{compact_prefix}state{suffix}",
        3,
        24,
        r"[a-z0-9]+",
        "lowercase letters and digits, globally unique",
    ),
    BootstrapKind.SECRETS_VAULT: NameRule(
        "kv-{prefix}-sp-{suffix}",
        3,
        24,
        r"[a-zA-Z][a-zA-Z0-9-]*[a-zA-Z0-9]",
        "letters, digits and single hyphens, starting with a letter, globally unique",
    ),
    BootstrapKind.PREVIEW_IDENTITY: NameRule(
        "id-{prefix}-preview", 3, 128, r"[a-zA-Z0-9][\w-]*", "letters, digits, _ and -"
    ),
    BootstrapKind.RELEASE_PREVIEW_IDENTITY: NameRule(
        "id-{prefix}-release-preview", 3, 128, r"[a-zA-Z0-9][\w-]*", "letters, digits, _ and -"
    ),
}


# A new environment's deployer lives beside the preview identities (infra/bootstrap_deployer.py).
DEPLOYER_IDENTITY_TEMPLATE = "id-{prefix}-deployer-{environment}"


def deployer_identity_name(prefix: str, environment: str) -> str:
    """The bootstrap-created deployer's name (within the preview identities' rule: the prefix is
    at most 12 characters, the environment a known name)."""
    return DEPLOYER_IDENTITY_TEMPLATE.format(prefix=prefix, environment=environment)


@dataclass(frozen=True)
class BootstrapNames:
    suffix: str
    resource_group: str
    state_storage_account: str
    secrets_vault: str
    preview_identity: str
    release_preview_identity: str


def bootstrap_names(
    prefix: str, owner: str, repository: str, rotation: int = 0, *, subscription_id: str
) -> BootstrapNames:
    """Build and check every physical name of one bootstrap stack; raise NamingError per broken budget."""
    scope = f"bootstrap:{owner}/{repository}".lower()
    suffix = name_suffix(prefix, scope, rotation, subscription_id=subscription_id)
    parts = {"prefix": prefix, "compact_prefix": prefix.replace("-", ""), "suffix": suffix}
    names: dict[str, str] = {}
    problems: list[str] = []
    for kind, rule in BOOTSTRAP_NAME_RULES.items():
        name = rule.template.format(**parts)
        problem = rule.problem(kind, name)
        if problem is not None:
            problems.append(problem)
        names[kind.name.lower()] = name
    if problems:
        raise NamingError(problems)
    return BootstrapNames(suffix=suffix, **names)
