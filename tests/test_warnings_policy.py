"""pytest's warning filters (pyproject.toml): our deprecations are errors, known third-party ones
are silenced by message, anything else still shows."""

from __future__ import annotations

import warnings

import pytest


@pytest.mark.parametrize("module", ["stacks.loading", "mlops_framework.serving", "infra"])
def test_a_deprecation_in_our_code_fails_the_test(module: str) -> None:
    with pytest.raises(DeprecationWarning):
        warnings.warn_explicit("old", DeprecationWarning, f"{module}.py", 1, module=module)


def test_a_third_party_deprecation_is_only_reported() -> None:
    with pytest.warns(DeprecationWarning, match="old"):
        warnings.warn_explicit("old", DeprecationWarning, "somelib.py", 1, module="somelib")
