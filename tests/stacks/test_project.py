"""The project file: what every `pulumi preview/up/destroy` does before it plans."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_every_operation_refreshes_first() -> None:
    """Defect: a local `pulumi up` (no --refresh) compared the endpoint's served version with the
    stale state and could send the endpoint back to it; CI refreshed, a person did not."""
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["options"]["refresh"] == "always"
