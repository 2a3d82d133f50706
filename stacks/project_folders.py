"""A project entry's ``path`` must be a project folder of this repository: one with a pyproject.toml.

Nothing else in the program reads the folder (the jobs run the wheel in ``dist/<name>/``), so a
mistyped path would plan green and only fail at the next `make promote`; it is refused here instead,
naming what is missing and the folders that are projects.
"""

from __future__ import annotations

import difflib
from pathlib import Path

PYPROJECT = "pyproject.toml"


def project_folders(root: Path) -> list[str]:
    """Every folder of the repository that builds an ML project's wheel (as `make wheel` finds them)."""
    candidates = root.glob(f"ml/projects/*/{PYPROJECT}")
    found = [path.parent for path in candidates if path.is_file()]
    return sorted(folder.relative_to(root).as_posix() for folder in found)


def folder_problem(path: str, root: Path) -> str | None:
    """Why ``path`` is not a project folder of ``root``, or None when it is."""
    folder = root / path
    if (folder / PYPROJECT).is_file():
        return None
    known = project_folders(root)
    close = difflib.get_close_matches(path, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    missing = f"{path}/ has no {PYPROJECT}" if folder.is_dir() else f"no folder {path}/ in this repository"
    return f"not a project folder: {missing}{hint}; project folders: {', '.join(known) or 'none'}"
