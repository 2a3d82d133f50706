"""The wheel, uploaded to the artifacts volume under a content-addressed path (docs/traps.md: wheel-cache).

Clusters and serverless environments cache a wheel by its path: re-uploading new code under the
same name silently keeps running the old code. The directory therefore carries the version plus
the first 12 hex digits of the wheel's sha256, and the file keeps its PEP 427 name so pip still
accepts it: same bytes -> same path -> no diff; other bytes -> new path -> every job updates.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_databricks as databricks
from pydantic import Field

from infra.base import ComponentArgs, PlatformComponent
from infra.wheel import WheelContents

HASH_DIGITS = 12


def content_addressed_path(wheel: WheelContents, volume_path: str) -> str:
    """``<volume>/wheels/<dist>-<version>+<sha256[:12]>/<wheel file name>``."""
    directory = f"{wheel.distribution}-{wheel.version}+{wheel.sha256[:HASH_DIGITS]}"
    return f"{volume_path.rstrip('/')}/wheels/{directory}/{wheel.file_name}"


class WheelArtifactArgs(ComponentArgs):
    wheel: WheelContents = Field(description="The built wheel, already read and validated.")
    volume_path: str = Field(pattern=r"^/Volumes/[^/]+/[^/]+/[^/]+$", description="/Volumes/<c>/<s>/<v>")
    volume: databricks.Volume = Field(description="The volume, so the upload waits for it.")
    source_root: Path | None = Field(
        default=None, description="Record the local wheel's path relative to this (the project root)."
    )
    provider: databricks.Provider

    @property
    def source(self) -> str:
        """The upload's local path, the same in every checkout so no machine plans a diff."""
        path = self.wheel.path
        if self.source_root is not None and path.is_relative_to(self.source_root):
            path = path.relative_to(self.source_root)
        return path.as_posix()


class WheelArtifact(PlatformComponent):
    AREA = "databricks"

    path: str
    file: databricks.File

    def __init__(
        self, name: str, args: WheelArtifactArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(name, opts)
        self.path = content_addressed_path(args.wheel, args.volume_path)
        self.file = databricks.File(
            f"{name}-wheel",
            path=self.path,
            source=args.source,
            opts=self.child_opts(pulumi.ResourceOptions(provider=args.provider, depends_on=[args.volume])),
        )
        self.register(path=self.path)
