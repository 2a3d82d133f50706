"""``make promote FROM=uat TO=prod [APPLY=1]``: pin what was verified in one stack into the next one's file.

A dry run unless told to write: without ``--apply`` (``APPLY=1``) it prints the diff and writes nothing.

Copies the promotable settings (each project's wheel version and gate; the list is data owned by
``stacks.settings.promotable_keys``) from ``Pulumi.<from>.yaml`` into ``Pulumi.<to>.yaml`` under
the ``mlops-platform:`` namespace. A key ``projects[].<field>`` is promoted project by project,
entries matched by name: every project both stacks list carries its own pin. A project the target
does not list is not added (which projects an environment hosts is its own decision); the result
names it. Environment-specific settings never move. The file keeps its comments, order and quoting
(ruamel.yaml round trip); the change is printed as a unified diff and the result is committed in a
promotion PR, whose merge deploys the target (promote.yml).

Each project's ``wheelSha256`` is not copied but pinned from the wheel ``make wheel`` built in
``dist/<name>/`` (``make promote`` builds first): run it on the release's commit and it is the
bytes the source ran (the build is reproducible), which the target's deploy then refuses to
replace with another build of the same version (stacks/wiring.py).

Refuses (exit code 2) when the stacks are not in promotion order, when no project is listed by
both, when the source pins no wheel for one of them, when a pin is not the version that
project's folder builds (``<path>/pyproject.toml``), or when ``dist/<name>/`` holds no wheel of
that version (or other bytes than a sha the source pins).
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import importlib
import io
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.syntax import Syntax
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from core.environment import PROMOTION_ORDER, Environment
from core.pulumi_project import PROJECT
from stacks.console import cli_console
from stacks.projects import PROJECTS_KEY
from stacks.yaml_round_trip import put_keeping_comments, round_trip_yaml

NAMESPACE = PROJECT  # config keys are "<project>:<section>"
PER_PROJECT = f"{PROJECTS_KEY}[]."
WHEEL_VERSION_KEY = f"{PER_PROJECT}wheelVersion"
WHEEL_SHA_KEY = f"{PER_PROJECT}wheelSha256"
REPO_ROOT = Path(__file__).resolve().parents[1]
EXIT_REFUSED = 2


class PromotionRefusedError(Exception):
    """The promotion would not move a verified release; the message says why and what to do."""


@dataclass(frozen=True)
class Promotion:
    """The planned rewrite of the target stack file."""

    target_file: Path
    before: str
    after: str
    changed_keys: tuple[str, ...]
    not_in_target: tuple[str, ...] = ()  # projects the source lists and the target does not

    def diff(self) -> str:
        name = self.target_file.name
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            f"a/{name}",
            f"b/{name}",
        )
        return "".join(lines)


def promotion_pair(source: str, target: str) -> tuple[Environment, Environment]:
    """Both names are stacks of the promotion order and ``target`` comes later than ``source``."""
    order = " -> ".join(PROMOTION_ORDER)
    stacks = []
    for name in (source, target):
        if name not in {e.value for e in Environment}:
            raise PromotionRefusedError(f"unknown stack {name!r}: choose one of {', '.join(Environment)}")
        if Environment(name) not in PROMOTION_ORDER:
            raise PromotionRefusedError(f"{name} is not promoted to or from: the promotion order is {order}")
        stacks.append(Environment(name))
    if PROMOTION_ORDER.index(stacks[1]) <= PROMOTION_ORDER.index(stacks[0]):
        raise PromotionRefusedError(f"{target} does not come after {source} in the promotion order {order}")
    return stacks[0], stacks[1]


def built_wheel_version(folder: Path) -> str:
    """The version a project's folder builds: ``project.version`` in its ``pyproject.toml``."""
    pyproject = folder / "pyproject.toml"
    try:
        version = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise PromotionRefusedError(f"cannot read the wheel version from {pyproject}: {error}") from error
    return str(version)


def _load(path: Path) -> tuple[str, YAML, CommentedMap]:
    if not path.is_file():
        raise PromotionRefusedError(f"{path.name} not found in {path.parent}")
    text = path.read_text(encoding="utf-8")
    try:
        yaml = round_trip_yaml(text)
        document = yaml.load(text)
    except YAMLError as error:
        raise PromotionRefusedError(f"{path.name} is not valid YAML: {error}") from error
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise PromotionRefusedError(f"{path.name} is not a mapping of Pulumi stack settings")
    return text, yaml, document


_MISSING = object()


def _projects(document: CommentedMap) -> dict[str, CommentedMap]:
    """The stack file's project entries by name (entries without a name are validation's business)."""
    entries = (document.get("config") or {}).get(f"{NAMESPACE}:{PROJECTS_KEY}") or []
    return {
        str(entry["name"]): entry for entry in entries if isinstance(entry, CommentedMap) and "name" in entry
    }


def _checked_pins(root: Path, source: Environment, projects: dict[str, CommentedMap]) -> None:
    """Every promoted project pins the version its folder builds."""
    qualified = f"{NAMESPACE}:{PROJECTS_KEY}[<name>].wheelVersion"
    wheel_field = WHEEL_VERSION_KEY.removeprefix(PER_PROJECT)
    for name, entry in projects.items():
        pin = entry.get(wheel_field)
        if not pin:
            raise PromotionRefusedError(
                f"Pulumi.{source}.yaml pins no wheel for project {name}: set {qualified} to the "
                f"version {source} runs"
            )
        folder = str(entry.get("path") or "")
        built = built_wheel_version(root / folder)
        if str(pin) != built:
            raise PromotionRefusedError(
                f"Pulumi.{source}.yaml pins wheel {pin} for project {name} but {folder}/pyproject.toml "
                f"builds {built}: promote from the commit that built {pin}, or deploy {built} to "
                f"{source} first"
            )


def _built_sha(root: Path, source: Environment, name: str, entry: CommentedMap) -> str:
    """The sha256 of the project's one wheel in ``dist/<name>/``, of the version the source pins."""
    version, pinned = str(entry.get("wheelVersion")), entry.get(WHEEL_SHA_KEY.removeprefix(PER_PROJECT))
    wheels = sorted((root / "dist" / name).glob("*.whl"))
    if len(wheels) != 1 or wheels[0].name.split("-")[1] != version:
        found = ", ".join(w.name for w in wheels) or "no wheel"
        raise PromotionRefusedError(
            f"dist/{name}/ holds {found}, not the {version} wheel {source} runs: check out the commit "
            f"{source} deployed and `make wheel` (`make promote` does), then promote"
        )
    sha = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    if pinned and pinned != sha:
        raise PromotionRefusedError(
            f"dist/{name}/{wheels[0].name} hashes to {sha}, not the {pinned} {source} pins: build on the "
            f"commit {source} deployed"
        )
    return sha


def plan_promotion(root: Path, source: str, target: str, keys: Sequence[str]) -> Promotion:
    """What promoting ``source`` into ``target`` changes; nothing is written."""
    source_stack, target_stack = promotion_pair(source, target)
    if WHEEL_VERSION_KEY not in keys:
        raise PromotionRefusedError(f"the promotable keys {list(keys)} do not include {WHEEL_VERSION_KEY}")
    if unknown := [key for key in keys if not key.startswith(PER_PROJECT)]:
        raise PromotionRefusedError(
            f"only project settings ({PER_PROJECT}<field>) are promoted, not {unknown}"
        )
    _, _, source_document = _load(root / f"Pulumi.{source_stack}.yaml")
    target_file = root / f"Pulumi.{target_stack}.yaml"
    before, yaml, target_document = _load(target_file)

    source_projects, target_projects = _projects(source_document), _projects(target_document)
    promoted = {name: entry for name, entry in source_projects.items() if name in target_projects}
    if not promoted:
        raise PromotionRefusedError(
            f"no project is listed in both Pulumi.{source_stack}.yaml and Pulumi.{target_stack}.yaml "
            f"({NAMESPACE}:{PROJECTS_KEY}): nothing to promote"
        )
    _checked_pins(root, source_stack, promoted)

    changed = []
    for key in keys:
        field = key.removeprefix(PER_PROJECT)
        for name, entry in promoted.items():
            value, target_entry = entry.get(field, _MISSING), target_projects[name]
            if key == WHEEL_SHA_KEY:
                value = _built_sha(root, source_stack, name, entry)
            if value == target_entry.get(field, _MISSING):
                continue
            changed.append(f"{PROJECTS_KEY}[{name}].{field}")
            if value is _MISSING:
                del target_entry[field]
            else:
                put_keeping_comments(target_entry, field, copy.deepcopy(value))
    buffer = io.StringIO()
    yaml.dump(target_document, buffer)
    after = buffer.getvalue() if changed else before
    skipped = tuple(sorted(set(source_projects) - set(target_projects)))
    return Promotion(target_file, before, after, tuple(changed), skipped)


def _settings_promotable_keys() -> tuple[str, ...]:
    """The keys the settings model marks promotable; a clear refusal while it does not exist yet."""
    settings = importlib.import_module("stacks.settings")
    promotable_keys = getattr(settings, "promotable_keys", None)
    if promotable_keys is None:
        raise PromotionRefusedError(
            "stacks.settings has no promotable_keys(): nothing is known to be promotable"
        )
    return tuple(str(key) for key in promotable_keys())


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m stacks.promote", description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", required=True, help="the verified stack, e.g. uat")
    parser.add_argument("--to", dest="target", required=True, help="the stack to pin it into, e.g. prod")
    parser.add_argument(
        "--apply", action="store_true", help="write the target's stack file (default: print the diff only)"
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="where the Pulumi.<stack>.yaml files are"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, keys: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    out, err = cli_console(soft_wrap=True), cli_console(stderr=True, soft_wrap=True)
    try:
        promotable = tuple(keys) if keys is not None else _settings_promotable_keys()
        promotion = plan_promotion(arguments.root, arguments.source, arguments.target, promotable)
    except PromotionRefusedError as refusal:
        err.print(f"promotion refused: {refusal}", style="bold red", markup=False, highlight=False)
        return EXIT_REFUSED
    name = promotion.target_file.name
    if promotion.not_in_target:
        out.print(
            f"not promoted, {name} does not list them: {', '.join(promotion.not_in_target)}", markup=False
        )
    if not promotion.changed_keys:
        out.print(f"{name} already pins what {arguments.source} runs: nothing to promote", markup=False)
        return 0
    out.print(Syntax(promotion.diff(), "diff", theme="ansi_dark", background_color="default"))
    if not arguments.apply:
        out.print(
            f"dry run: {name} not written ({', '.join(promotion.changed_keys)}); "
            f"write it with `make promote FROM={arguments.source} TO={arguments.target} APPLY=1`",
            markup=False,
        )
        return 0
    promotion.target_file.write_text(promotion.after, encoding="utf-8")
    out.print(
        f"wrote {name}: commit it in a promotion PR; merging it deploys {arguments.target}", markup=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
