"""The base of every settings section (stacks/settings.py, stacks/projects.py) and the promotable mark."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# `make promote` copies the fields marked so (stacks.settings.promotable_keys).
PROMOTABLE: dict[str, Any] = {"promotable": True}


class Section(BaseModel):
    """A config section: frozen, camelCase keys only, and an unknown key (a typo) is an error."""

    # The mypy plugin flags any alias_generator once a subclass has a required field; each required
    # field spells its alias explicitly, so the generated __init__ signature is still exact.
    model_config = ConfigDict(  # type: ignore[pydantic-alias]
        frozen=True, extra="forbid", alias_generator=to_camel, validate_by_alias=True, validate_by_name=False
    )
