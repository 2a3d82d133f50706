"""The Pulumi program: what ``__main__.py`` runs and what the offline plan runs under mocks."""

from __future__ import annotations

import pulumi

from infra.platform import Platform, PlatformArgs
from stacks.loading import LoadedStack, load_settings

__all__ = ["build_platform", "export_outputs", "load_settings", "program"]


def build_platform(loaded: LoadedStack) -> Platform:
    """Compose the environment the stack's settings describe."""
    return Platform("platform", PlatformArgs(settings=loaded.settings, secrets=loaded.secrets))


def export_outputs(platform: Platform) -> None:
    """Stack outputs for later components, CI (`pulumi stack output --json`) and humans."""
    for key, value in platform.outputs().items():
        pulumi.export(key, value)


def program() -> None:
    """Load settings for the current stack, build the platform, export."""
    export_outputs(build_platform(load_settings()))
