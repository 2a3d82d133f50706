"""Hand the bootstrap stack's outputs to the environment stacks, through the declared interface.

    pulumi stack output --json -C bootstrap -s <org> | python -m bootstrap.handoff [--dry-run]

Writes each environment's ``mlops-platform:bootstrap`` section (``infra.bootstrap_interface.
BootstrapOutputs``, from the output ``environments.<env>``) into its ``Pulumi.<environment>.yaml``,
keeping comments and order; writes ``.github/CODEOWNERS`` for the code-owner team (bootstrap/
codeowners.py); names this repository in the workflows' calls of main's reusable workflows
(``uses: <owner>/<repo>/.github/workflows/<file>@main``: GitHub allows no expression there); and
names each environment's Key Vault key as the stack file's ``secretsprovider`` (make bootstrap then
creates the stack with it in the environment's own state container: bootstrap/environment_stacks.py);
and prints the diffs. An
output the interface needs but the bootstrap stack did not export is an error naming the key;
nothing is written then.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from ruamel.yaml.comments import CommentedMap

from bootstrap.codeowners import CODEOWNERS, codeowners
from core.environment import Environment
from infra.bootstrap_interface import BootstrapOutputs, interface_keys
from stacks.loading import NAMESPACE
from stacks.yaml_round_trip import round_trip_yaml

ROOT = Path(__file__).resolve().parent.parent
SECTION = f"{NAMESPACE}bootstrap"
EXIT_MISSING_OUTPUT = 2
WORKFLOWS = ".github/workflows"
REPOSITORY = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
# A call of one of this repository's reusable workflows at main: `uses: <owner>/<repo>/.github/...@main`.
MAIN_CALL = re.compile(
    r"^([ \t]*uses:[ \t]*)[A-Za-z0-9-]+/[A-Za-z0-9._-]+/(\.github/workflows/[\w.-]+@main(?:[ \t]+#.*)?)$",
    re.M,
)
SECTION_COMMENT = (
    "Its preview identity, its deployer and its state container, from the bootstrap stack's outputs: "
    "written by `make bootstrap`."
)


class HandoffError(Exception):
    """The bootstrap outputs do not satisfy the interface; the message names every missing key."""


@dataclass(frozen=True)
class Handoff:
    path: Path
    before: str
    after: str

    def diff(self) -> str:
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            f"a/{self.path.name}",
            f"b/{self.path.name}",
        )
        return "".join(lines)


def interface_values(outputs: Mapping[str, Any], environment: str) -> BootstrapOutputs:
    """One environment's interface keys from ``pulumi stack output --json``; raise HandoffError naming
    what is missing."""
    per_environment = outputs.get("environments")
    values = per_environment.get(environment) if isinstance(per_environment, Mapping) else None
    values = values if isinstance(values, Mapping) else {}
    missing = [
        f"environments.{environment}.{key}" for key in interface_keys() if values.get(key) in (None, "")
    ]
    if missing:
        raise HandoffError(
            f"the bootstrap stack has no output {', '.join(repr(k) for k in missing)}: run `make bootstrap` "
            "(pulumi up in bootstrap/) first, or pass the outputs of the right stack"
        )
    try:
        return BootstrapOutputs.model_validate({key: values[key] for key in interface_keys()})
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise HandoffError(
            f"bootstrap outputs for {environment} do not fit the interface: {problems}"
        ) from None


def plan_handoff(outputs: Mapping[str, Any], root: Path = ROOT) -> list[Handoff]:
    """The rewrite of every environment's stack file, and of CODEOWNERS; nothing is written here."""
    handoffs = []
    for environment in Environment:
        values = interface_values(outputs, environment).model_dump(by_alias=True)
        path = root / f"Pulumi.{environment}.yaml"
        before = path.read_text(encoding="utf-8")
        yaml = round_trip_yaml(before)
        document = yaml.load(before) or CommentedMap()
        config = document.setdefault("config", CommentedMap())
        section = config.get(SECTION)
        if not isinstance(section, dict):
            section = CommentedMap()
            config[SECTION] = section
            config.yaml_set_comment_before_after_key(SECTION, before=SECTION_COMMENT, indent=2)
        for key, value in values.items():
            section[key] = value
        _name_secrets_provider(document, path, secrets_provider(outputs, environment))
        buffer = StringIO()
        yaml.dump(document, buffer)
        handoffs.append(Handoff(path, before, buffer.getvalue()))
    repository = outputs.get("githubRepository")
    if not isinstance(repository, str) or not REPOSITORY.fullmatch(repository):
        raise HandoffError(
            "the bootstrap stack has no output 'githubRepository' (owner/repo): run `make bootstrap` first"
        )
    for path in sorted((root / WORKFLOWS).glob("*.yml")):
        before = path.read_text(encoding="utf-8")
        handoffs.append(Handoff(path, before, MAIN_CALL.sub(rf"\g<1>{repository}/\g<2>", before)))
    owners = outputs.get("codeOwners")
    if not isinstance(owners, str) or not owners:
        raise HandoffError("the bootstrap stack has no output 'codeOwners': run `make bootstrap` first")
    path = root / CODEOWNERS
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    handoffs.append(Handoff(path, before, codeowners(owners)))
    return handoffs


def secrets_provider(outputs: Mapping[str, Any], environment: str) -> str:
    """The environment's Key Vault key as a secrets-provider URL (output ``secretsProviders``)."""
    providers = outputs.get("secretsProviders")
    url = providers.get(environment) if isinstance(providers, Mapping) else None
    if not isinstance(url, str) or not url.startswith("azurekeyvault://"):
        raise HandoffError(
            f"the bootstrap stack has no output 'secretsProviders.{environment}' (azurekeyvault://...): "
            "run `make bootstrap` first"
        )
    return url


def _name_secrets_provider(document: CommentedMap, path: Path, url: str) -> None:
    """``secretsprovider:`` at the top of the stack file, as ``pulumi stack init --secrets-provider``
    writes it: the stack is created with it (bootstrap/environment_stacks.py, or CI's deploy where
    the backend has none) and every run encrypts with that key (stacks/secrets_provider.py). A file
    naming another provider keeps it: its ``encryptedkey`` and state were written with that one, so
    the handoff stops rather than orphan them."""
    current = document.get("secretsprovider")
    if current in (None, ""):
        document.insert(0, "secretsprovider", url)
    elif current != url:
        raise HandoffError(
            f"{path.name} names secretsprovider {current!r}, not the bootstrap's key {url!r}: move the "
            f"stack to it first (`pulumi stack change-secrets-provider -s {path.stem.split('.', 1)[1]} "
            f"'{url}'`), then run make bootstrap again"
        )


def main(argv: list[str] | None = None, root: Path = ROOT, stdin: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bootstrap.handoff", description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    args = parser.parse_args(argv)
    console, errors = Console(), Console(stderr=True)
    try:
        outputs = json.load(stdin or sys.stdin)
        if not isinstance(outputs, dict):
            raise HandoffError("expected the JSON object `pulumi stack output --json` prints")
        handoffs = plan_handoff(outputs, root)
    except (HandoffError, json.JSONDecodeError) as error:
        errors.print(f"bootstrap handoff: {error}", markup=False, highlight=False, soft_wrap=True)
        return EXIT_MISSING_OUTPUT
    for handoff in handoffs:
        if handoff.after != handoff.before:
            console.print(handoff.diff(), markup=False, highlight=False, soft_wrap=True)
            if not args.dry_run:
                handoff.path.write_text(handoff.after, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
