"""Open the built wheel once: its name, hash, entry points and job graph, validated together.

The wheel in ``dist/<project>/`` is the artifact being deployed, so the jobs are described by the graph
*inside* it, parsed by the wheel's own contract module (``mlops_framework.job_graph``, stdlib-only;
docs/contracts.md section 1), never by a copy of its rules.
"""

from __future__ import annotations

import configparser
import hashlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mlops_framework.job_graph import JobGraph, JobGraphError, parse_job_graph, wheel_member

from infra.wheel_pins import StaleLockError, pinned_requirements

# A project's dist folder (dist/<name>/) holds exactly its one wheel, whatever the distribution.
WHEEL_GLOB = "*.whl"
MAKE_WHEEL_HINT = "run `make wheel` to build it into dist/<project>/"

# PEP 427: {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
_WHEEL_NAME = re.compile(
    r"^(?P<distribution>[A-Za-z0-9_.]+)-(?P<version>[^-]+)(-[^-]+)?-[^-]+-[^-]+-[^-]+\.whl$"
)


class WheelError(ValueError):
    """The wheel is missing, unreadable, or its job graph does not match its entry points."""


@dataclass(frozen=True)
class WheelContents:
    """What the platform needs from one built wheel, read once."""

    path: Path
    distribution: str
    version: str
    sha256: str
    console_scripts: frozenset[str]
    graph: JobGraph
    # What its Databricks jobs install besides it, `name==version` (infra/wheel_pins.py).
    pinned_requirements: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        return self.path.name


def resolve_wheel_path(path: Path) -> Path:
    """``path`` is a wheel file or a project's dist folder holding exactly one wheel."""
    if path.is_dir():
        found = sorted(path.glob(WHEEL_GLOB))
        if not found:
            raise WheelError(f"no {WHEEL_GLOB} in {path}: {MAKE_WHEEL_HINT}")
        if len(found) > 1:
            names = ", ".join(p.name for p in found)
            raise WheelError(f"several wheels in {path} ({names}): {MAKE_WHEEL_HINT} (it keeps only one)")
        return found[0]
    if not path.is_file():
        raise WheelError(f"wheel {path} does not exist: {MAKE_WHEEL_HINT}")
    return path


def read_wheel(path: Path) -> WheelContents:
    """Open the wheel, parse its job graph and entry points, and check that they agree."""
    wheel_path = resolve_wheel_path(path)
    match = _WHEEL_NAME.match(wheel_path.name)
    if match is None:
        raise WheelError(f"{wheel_path.name} is not a valid wheel file name (PEP 427)")
    data = wheel_path.read_bytes()
    try:
        with zipfile.ZipFile(wheel_path) as archive:
            # A project's graph is in its own package, named like the distribution (the wheel's
            # copy of the framework is inside that package, without a graph).
            graph_member = wheel_member(match["distribution"])
            graph_text = _member_text(archive, graph_member, wheel_path)
            entry_points_member = _entry_points_member(archive, wheel_path)
            entry_points_text = _member_text(archive, entry_points_member, wheel_path)
            metadata_member = entry_points_member.replace("entry_points.txt", "METADATA")
            _member_text(archive, metadata_member, wheel_path)
            pins = pinned_requirements(archive, wheel_path, metadata_member, match["distribution"])
    except zipfile.BadZipFile as error:
        raise WheelError(f"{wheel_path} is not a readable wheel ({error}): {MAKE_WHEEL_HINT}") from error
    except StaleLockError as error:
        raise WheelError(str(error)) from error
    try:
        graph = parse_job_graph(graph_text)
    except JobGraphError as error:
        raise WheelError(f"{graph_member} in {wheel_path.name} is invalid:\n{error}") from error
    if graph.package_name != match["distribution"]:
        raise WheelError(
            f"{graph_member} in {wheel_path.name} names package_name {graph.package_name!r}; "
            f"allowed: {match['distribution']!r}, the wheel's own package"
        )
    contents = WheelContents(
        path=wheel_path,
        distribution=match["distribution"],
        version=match["version"],
        sha256=hashlib.sha256(data).hexdigest(),
        console_scripts=_console_scripts(entry_points_text),
        graph=graph,
        pinned_requirements=pins,
    )
    check_entry_points(contents)
    return contents


def check_entry_points(wheel: WheelContents) -> None:
    """Every task's entry point must be a console script of this very wheel."""
    missing = sorted(
        f"{job_key}.{task.key} -> {task.entry_point}"
        for job_key, job in wheel.graph.jobs.items()
        for task in job.tasks
        if task.entry_point not in wheel.console_scripts
    )
    if missing:
        raise WheelError(
            f"{wheel.file_name}: tasks name entry points the wheel does not declare: {missing}; "
            f"declared console scripts: {sorted(wheel.console_scripts)}"
        )


def _entry_points_member(archive: zipfile.ZipFile, wheel_path: Path) -> str:
    names = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
    if len(names) != 1:
        raise WheelError(f"{wheel_path.name} has {len(names)} entry_points.txt files, expected one")
    return names[0]


def _member_text(archive: zipfile.ZipFile, member: str, wheel_path: Path) -> str:
    try:
        return archive.read(member).decode("utf-8")
    except KeyError as error:
        raise WheelError(f"{wheel_path.name} does not contain {member}: rebuild with `make wheel`") from error


def _console_scripts(entry_points_text: str) -> frozenset[str]:
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]  # entry point names are case-sensitive
    parser.read_string(entry_points_text)
    if not parser.has_section("console_scripts"):
        return frozenset()
    return frozenset(parser["console_scripts"])
