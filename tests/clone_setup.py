"""A fresh clone for the pipeline rehearsal, set up the way a runner finds the repository.

``fresh_clone`` copies what a clone has (tracked and new files, nothing ignored or built);
``link_venv`` gives it the ``.venv`` that ``make setup`` would build, exactly the packages its
``requirements.lock`` names, linked from the suite's venv instead of installed again (fast, and a
package missing from the lock, such as pip, is missing from it too), and the projects' editable
installs, copied; ``tool_dir`` is what
setup-uv leaves on ``PATH``; ``stand_in_dir`` holds the stand-in ``pulumi``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

WORKFLOW_TESTS = Path(__file__).resolve().parent / "workflows"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)", re.MULTILINE)


def fresh_clone(source: Path, destination: Path) -> Path:
    """The repository's files as a clone has them: tracked and new ones, nothing ignored or built."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=source, capture_output=True, text=True, check=True).stdout  # fmt: skip
    for relative in filter(None, listed.split("\0")):
        if (source / relative).is_file():
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source / relative, destination / relative)
    return destination


def link_venv(clone: Path, suite_venv: Path) -> None:
    """``clone/.venv`` as ``make setup`` would build it, its packages linked from the suite's venv."""
    pins = {
        _canonical(name): version
        for name, version in PIN.findall((clone / "requirements.lock").read_text(encoding="utf-8"))
    }
    venv.EnvBuilder(with_pip=False, symlinks=True).create(clone / ".venv")
    site = next((clone / ".venv" / "lib").glob("python3*/site-packages"))
    suite_site = next((suite_venv / "lib").glob("python3*/site-packages"))
    installed = _installed(suite_site)
    missing = sorted(
        name for name, version in pins.items() if name not in installed or installed[name][0] != version
    )
    if missing:
        raise RuntimeError(
            f"the suite's .venv is not in sync with requirements.lock ({missing[:5]}...): run make setup"
        )
    for name, (_, tops, editable, scripts) in installed.items():
        if name in pins:
            for top in tops:
                if not (site / top).exists():
                    (site / top).symlink_to(suite_site / top)
            _copy_scripts(scripts, suite_venv / "bin", clone / ".venv" / "bin")
        elif editable:  # an ML project: `make setup` installs each beside the lock
            # Copied (a .pth file and the dist-info): a `make setup` in the clone that reinstalls
            # the projects uninstalls these, and must not reach through a link into the suite's venv.
            for top in tops:
                copy = shutil.copytree if (suite_site / top).is_dir() else shutil.copy
                copy(suite_site / top, site / top)
    # `make setup`'s stamps, newer than what they depend on: the venv is in sync with this lock and
    # has the framework and the projects installed that the Makefile finds (FRAMEWORK_DIR, then
    # PROJECT_DIRS in its order).
    projects = [
        "ml/framework",
        *sorted(p.parent.relative_to(clone).as_posix() for p in clone.glob("ml/projects/*/pyproject.toml")),
    ]
    for source in ("requirements.lock", *(f"{folder}/pyproject.toml" for folder in projects)):
        os.utime(clone / source, (0, 0))
    (clone / ".venv" / ".synced").touch()
    (clone / ".venv" / ".projects").write_text(" ".join(projects) + "\n", encoding="utf-8")


@functools.cache
def _installed(suite_site: Path) -> dict[str, tuple[str, frozenset[str], bool, tuple[str, ...]]]:
    """Each distribution in the suite's site-packages: its version, the top-level entries its
    RECORD lists, whether it is an editable install (PEP 610 direct_url.json), and the console
    scripts it put in bin/. Read once per session (~0.2 s of CPU: every RECORD file); the suite's
    venv does not change while the tests run."""
    installed = {}
    for dist in importlib.metadata.distributions(path=[str(suite_site)]):
        files = [str(f) for f in dist.files or ()]
        tops = frozenset(Path(f).parts[0] for f in files if not f.startswith(".."))
        scripts = tuple(Path(f).name for f in files if f.startswith("../../../bin/"))
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
        editable = bool(direct.get("dir_info", {}).get("editable"))
        installed[_canonical(dist.metadata["Name"])] = (dist.version, tops, editable, scripts)
    return installed


def _copy_scripts(names: tuple[str, ...], source: Path, destination: Path) -> None:
    """The scripts, run by the clone's python (their first line names the suite's); a program that
    is not a script (ruff's binary) is linked."""
    for script in names:
        if (destination / script).exists():
            continue
        text = (source / script).read_text(encoding="utf-8", errors="surrogateescape")
        first, _, rest = text.partition("\n")
        if not first.startswith("#!"):
            (destination / script).symlink_to(source / script)
            continue
        (destination / script).write_text(
            f"#!{destination / 'python'}\n{rest}", encoding="utf-8", errors="surrogateescape"
        )
        (destination / script).chmod(0o755)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def tool_dir(root: Path, destination: Path) -> Path:
    """What setup-uv leaves on PATH: uv (the one `make` found for the suite)."""
    uv = shutil.which("uv") or str(root / ".tools" / "uv" / "bin" / "uv")
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "uv").symlink_to(uv)
    return destination


def stand_in_dir(destination: Path) -> Path:
    """A directory whose `pulumi` is pulumi_standin.py, run by this interpreter."""
    destination.mkdir(parents=True, exist_ok=True)
    wrapper = destination / "pulumi"
    standin = WORKFLOW_TESTS / "pulumi_standin.py"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{standin}" "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return destination
