"""Read ``Pulumi.<stack>.yaml`` as a mapping, refusing what the Pulumi CLI would silently accept.

The CLI reads a stack file with gopkg.in/yaml.v2's non-strict ``yaml.Unmarshal``
(pulumi/pulumi sdk/go/common/workspace/loaders.go, ``projectStackLoader.load``;
sdk/go/common/encoding/marshal.go, ``yamlMarshaler.Unmarshal``), and yaml.v2 reports a repeated key
("already set in map") only under ``UnmarshalStrict``: otherwise the last one wins. A second
``mlops-platform:projects:`` pasted at the end of a stack file would so replace the first, and an
environment would silently lose projects. Both the offline plan and the program under the real CLI
read the file here (stacks.loading.load_settings), so a repeated key at any depth is refused, with
the file, both lines and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stacks.problems import ConfigError


class StackFileError(ConfigError):
    """``Pulumi.<stack>.yaml`` is not a YAML mapping of unique keys: where, and what is wrong."""

    def __init__(self, path: Path, message: str, details: list[str] | None = None) -> None:
        lines = [f"{path.name}: {message}; nothing was deployed", *(f"  - {d}" for d in details or ())]
        Exception.__init__(self, "\n".join(lines))
        self.stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        self.path = path
        self.problems = ()


def read_stack_file(path: Path) -> dict[str, Any]:
    """The stack file as a mapping; a syntax error or a repeated key names the file and the line."""
    loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
    try:
        node = loader.get_single_node()
        repeated = repeated_keys(node) if node is not None else []
        if repeated:
            header = f"{len(repeated)} repeated key(s): the Pulumi CLI would silently keep only the last"
            raise StackFileError(path, header, repeated)
        document = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"
        context = error.context or ""
        if context and error.context_mark is not None and error.context_mark is not mark:
            context += f" (from line {error.context_mark.line + 1})"
        what = ", ".join(part for part in (context, error.problem) if part)
        raise StackFileError(path, f"invalid YAML at {where}: {what}") from None
    except yaml.YAMLError as error:
        raise StackFileError(path, f"invalid YAML: {error}") from None
    finally:
        loader.dispose()
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise StackFileError(
            path, f"expected a mapping with a `config:` key, found {type(document).__name__}"
        )
    return document


def repeated_keys(node: yaml.Node, path: str = "") -> list[str]:
    """Every key that a mapping (at any depth) holds twice: ``line N: `a.b` again (first at line M)``."""
    found: list[str] = []
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            dotted = f"{path}.{key}" if path else key
            line = key_node.start_mark.line + 1
            if key in first:
                found.append(f"line {line}: `{dotted}` again (first at line {first[key]})")
            else:
                first[key] = line
            found += repeated_keys(value_node, dotted)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += repeated_keys(item, f"{path}[{index}]")
    return found
