"""``make promote FROM=uat TO=prod``: pin what was verified in one stack into the next one's file.

Copies the promotable settings (the wheel version and the model gate; the list is data owned by
``stacks.settings.promotable_keys``) from ``Pulumi.<from>.yaml`` into ``Pulumi.<to>.yaml`` under
the ``mlops-platform:`` namespace. Environment-specific settings never move. The file keeps its
comments, order and quoting (ruamel.yaml round trip); the change is printed as a unified diff and
the result is committed in a promotion PR, whose merge deploys the target (promote.yml).

Refuses (exit code 2) when the stacks are not in promotion order, when the source pins no wheel, or
when its pin is not the version ``ml/pyproject.toml`` builds.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import importlib
import io
import itertools
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.syntax import Syntax
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from core.environment import PROMOTION_ORDER, Environment
from core.project import PROJECT
from stacks.console import cli_console

NAMESPACE = PROJECT  # config keys are "<project>:<section>"
WHEEL_VERSION_KEY = "artifact.wheelVersion"
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


def built_wheel_version(root: Path) -> str:
    """The version the code builds: ``project.version`` in ``ml/pyproject.toml``."""
    pyproject = root / "ml" / "pyproject.toml"
    try:
        version = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise PromotionRefusedError(f"cannot read the wheel version from {pyproject}: {error}") from error
    return str(version)


def _indentation(text: str) -> tuple[int, int]:
    """The file's mapping indent and the offset of `-` under a sequence's parent key."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    depths = [len(line) - len(line.lstrip(" ")) for line in lines]
    mapping = min((d for d in depths if d > 0), default=2)
    for (parent, parent_depth), (line, depth) in itertools.pairwise(zip(lines, depths, strict=True)):
        if parent.rstrip().endswith(":") and line.lstrip().startswith("- "):
            return mapping, depth - parent_depth
    return mapping, mapping


def round_trip_yaml(text: str) -> YAML:
    """A round-trip YAML that writes back with the file's own indentation and quoting."""
    mapping, offset = _indentation(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long values
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return yaml


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


def _get(document: CommentedMap, key: str) -> Any:
    section, *path = key.split(".")
    node: Any = (document.get("config") or {}).get(f"{NAMESPACE}:{section}", _MISSING)
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _set(document: CommentedMap, key: str, value: Any) -> None:
    section, *path = key.split(".")
    node = document.setdefault("config", CommentedMap())
    parts = [f"{NAMESPACE}:{section}", *path]
    for part in parts[:-1]:
        node = node.setdefault(part, CommentedMap())
    node[parts[-1]] = copy.deepcopy(value)


def _delete(document: CommentedMap, key: str) -> None:
    section, *path = key.split(".")
    parents = [document.get("config")]
    for part in [f"{NAMESPACE}:{section}", *path][:-1]:
        parents.append(parents[-1][part])
    parts = [f"{NAMESPACE}:{section}", *path]
    del parents[-1][parts[-1]]
    # Drop sections the deletion left empty, innermost first.
    for parent, part in zip(reversed(parents[:-1]), reversed(parts[:-1]), strict=True):
        if parent[part]:
            break
        del parent[part]


def plan_promotion(root: Path, source: str, target: str, keys: Sequence[str]) -> Promotion:
    """What promoting ``source`` into ``target`` changes; nothing is written."""
    source_stack, target_stack = promotion_pair(source, target)
    if WHEEL_VERSION_KEY not in keys:
        raise PromotionRefusedError(f"the promotable keys {list(keys)} do not include {WHEEL_VERSION_KEY}")
    _, _, source_document = _load(root / f"Pulumi.{source_stack}.yaml")
    target_file = root / f"Pulumi.{target_stack}.yaml"
    before, yaml, target_document = _load(target_file)

    pin = _get(source_document, WHEEL_VERSION_KEY)
    qualified = f"{NAMESPACE}:{WHEEL_VERSION_KEY}"
    if pin is _MISSING or not pin:
        raise PromotionRefusedError(
            f"Pulumi.{source_stack}.yaml pins no wheel: set {qualified} to the version {source_stack} runs"
        )
    built = built_wheel_version(root)
    if str(pin) != built:
        raise PromotionRefusedError(
            f"Pulumi.{source_stack}.yaml pins wheel {pin} but ml/pyproject.toml builds {built}: "
            f"promote from the commit that built {pin}, or deploy {built} to {source_stack} first"
        )

    changed = []
    for key in keys:
        value, current = _get(source_document, key), _get(target_document, key)
        if value == current:
            continue
        changed.append(key)
        if value is _MISSING:  # the source runs the default: so will the target
            _delete(target_document, key)
        else:
            _set(target_document, key, value)
    buffer = io.StringIO()
    yaml.dump(target_document, buffer)
    after = buffer.getvalue() if changed else before
    return Promotion(target_file, before, after, tuple(changed))


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
    parser.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
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
    if not promotion.changed_keys:
        out.print(f"{name} already pins what {arguments.source} runs: nothing to promote", markup=False)
        return 0
    out.print(Syntax(promotion.diff(), "diff", theme="ansi_dark", background_color="default"))
    if arguments.dry_run:
        out.print(f"dry run: {name} not written ({', '.join(promotion.changed_keys)})", markup=False)
        return 0
    promotion.target_file.write_text(promotion.after, encoding="utf-8")
    out.print(
        f"wrote {name}: commit it in a promotion PR; merging it deploys {arguments.target}", markup=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
