"""The exact versions a wheel's Databricks jobs install: the lock it carries, checked against what
it requires.

A job environment installs the wheel with pip on top of the serverless environment, which would
resolve the wheel's ranges anew (the newest MLflow 3.x each time an environment is built). So the
environment's dependencies pin every package of the lock the wheel carries
(``mlops_framework.job_graph.databricks_requirements_member``, inside the wheel's copy of the
framework: the framework's dependencies, compiled for serverless environment 4's Python with the
versions the tests run). A wheel requiring a package
the lock does not pin, or at a version its range refuses, is refused: its lock is stale.
"""

from __future__ import annotations

import re
import zipfile
from email.parser import Parser
from pathlib import Path

from mlops_framework.job_graph import databricks_requirements_member
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# uv's hashed lock: `name==version \` at the start of a line, hashes and comments below it.
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)
LOCK_HINT = "run `make lock` and `make wheel`"


class StaleLockError(ValueError):
    """The wheel's Databricks lock does not satisfy what the wheel requires."""


def pinned_requirements(
    archive: zipfile.ZipFile, wheel_path: Path, metadata_member: str, package: str
) -> tuple[str, ...]:
    """`name==version` for every package of the Databricks lock the wheel of project package
    `package` carries, sorted by name; none for a wheel that requires nothing."""
    member = databricks_requirements_member(package)
    required = _required(archive.read(metadata_member).decode("utf-8"))
    if not required:
        return ()
    try:
        lock = archive.read(member).decode("utf-8")
    except KeyError as error:
        raise StaleLockError(
            f"{wheel_path.name} requires {len(required)} packages but carries no {member}: {LOCK_HINT}"
        ) from error
    pins = {canonicalize_name(name): version for name, version in _PIN.findall(lock)}
    problems = []
    for requirement in required:
        locked = pins.get(canonicalize_name(requirement.name))
        if locked is None or not requirement.specifier.contains(locked, prereleases=True):
            problems.append(f"{requirement} (locked: {locked or 'not pinned'})")
    if problems:
        raise StaleLockError(
            f"{wheel_path.name}: {member} does not satisfy what the wheel "
            f"requires: {'; '.join(problems)}: {LOCK_HINT}"
        )
    return tuple(f"{name}=={version}" for name, version in sorted(pins.items()))


def _required(metadata: str) -> list[Requirement]:
    """The wheel's unconditional requirements (Requires-Dist without an extra)."""
    requirements = [Requirement(line) for line in Parser().parsestr(metadata).get_all("Requires-Dist") or []]
    return [r for r in requirements if r.marker is None or "extra" not in str(r.marker)]
