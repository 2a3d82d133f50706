"""What a stack's config can get wrong, as the user reads it: one line per problem, all at once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.pulumi_project import PROJECT

NAMESPACE = f"{PROJECT}:"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack's config: where, what was given, what is allowed."""

    stack: str
    key: str
    value: Any
    message: str
    namespace: str = NAMESPACE  # the bootstrap project has its own; "" for a whole config key

    def line(self) -> str:
        if self.value is None:
            shown = "(missing)"
        elif self.value is Ellipsis:  # set, but not shown (it may be a secret)
            shown = "..."
        else:
            shown = json.dumps(self.value, default=str)
        return f"{self.stack}: {self.namespace}{self.key} = {shown}: {self.message}"


class ConfigError(Exception):
    """Every problem of a stack's config at once, one line each."""

    def __init__(self, stack: str, problems: list[Problem], directory: str = "") -> None:
        self.stack = stack
        self.problems = tuple(problems)
        file = f"{directory}Pulumi.{stack}.yaml"  # the bootstrap's stack files are in bootstrap/
        header = f"{file} has {len(problems)} configuration problem(s); nothing was deployed:"
        super().__init__("\n".join([header, *(f"  - {p.line()}" for p in problems)]))
