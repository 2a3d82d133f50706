"""The trust model (core/trust.py) is what docs/security.md shows, and every row names guards that
exist: a test of that name in that file, or a policy of the pack. The guards themselves check each
row against the plans (the bootstrap's and the four stacks'), the workflows and the wheel."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from core.trust import POLICY, TRUST_MODEL
from policy.registry import RULES, STACK_RULES
from stacks.trust_table import SECURITY, docs_trust_model, render_trust_model

ROOT = Path(__file__).resolve().parents[1]
GUARDS = sorted({guard for row in TRUST_MODEL for guard in row.guards})


@functools.cache
def _tests_in(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef))


@pytest.mark.parametrize("guard", GUARDS)
def test_every_guard_names_an_existing_test_or_policy(guard: str) -> None:
    if guard.startswith(POLICY):
        assert guard.removeprefix(POLICY) in {r.name for r in (*RULES, *STACK_RULES)}
    else:
        path, test = guard.split("::")
        assert test.startswith("test_"), guard
        assert test in _tests_in(path), f"{path} has no {test}"


def test_every_row_is_guarded_and_every_actor_named_once() -> None:
    assert all(row.guards for row in TRUST_MODEL)
    actors = [row.actor for row in TRUST_MODEL]
    assert len(actors) == len(set(actors))


def test_docs_security_shows_the_trust_model() -> None:
    """Regenerate with `python -m stacks.trust_table --docs`."""
    assert docs_trust_model(SECURITY.read_text(encoding="utf-8")) == render_trust_model()
