"""The README's configuration reference is the one the settings model renders."""

from __future__ import annotations

from stacks.reference import README, readme_reference, render_reference


def test_readme_configuration_reference_matches_the_settings_model() -> None:
    assert readme_reference(README.read_text(encoding="utf-8")) == render_reference(), (
        "README.md's configuration reference is stale: run `.venv/bin/python -m stacks.reference --readme`"
    )


def test_readme_shows_the_two_set_up_commands() -> None:
    readme = README.read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme
