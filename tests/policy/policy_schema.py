"""Reads the installed azure-native SDK's sources to tell which types take a ``tags`` input."""

from __future__ import annotations

import re
from importlib.util import find_spec
from pathlib import Path

# Located, not imported: the package is large and only its sources are read.
AZURE_NATIVE_DIR = Path(str(getattr(find_spec("pulumi_azure_native"), "origin", ""))).parent


def module_file(resource_type: str) -> Path:
    """azure-native:keyvault:Vault -> pulumi_azure_native/keyvault/vault.py."""
    _, module, kind = resource_type.split(":")
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
    return AZURE_NATIVE_DIR / module / f"{snake}.py"


def has_tags_input(resource_type: str) -> bool:
    """Whether the installed azure-native SDK sends a ``tags`` input for this type."""
    source = module_file(resource_type).read_text(encoding="utf-8")
    assert f"'{resource_type}'" in source, f"{resource_type} is not defined in {module_file(resource_type)}"
    return '__props__.__dict__["tags"] = tags' in source
