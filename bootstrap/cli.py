"""``make bootstrap``: ask for what the bootstrap needs, run its ``pulumi up``, hand its outputs on.

First every prerequisite is checked, and all that are missing are named at once: the GitHub token
(``GITHUB_TOKEN``, with the permissions of bootstrap/github_token.py), the ``pulumi`` and ``az``
commands, and a way to give the bootstrap stack's passphrase. Then it asks (or reads from the
environment variable each question names) for the answers of bootstrap/answers.py, each checked as
the stack settings are. Then, in ``bootstrap/``: select or create the stack, set those values,
``pulumi up`` (Pulumi shows the preview and asks before changing anything), and
``python -m bootstrap.handoff`` on its outputs.

The bootstrap stack keeps its few secrets with a passphrase (docs/bootstrap.md, chicken and egg).
The Pulumi CLI reads it from PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, or else asks
for it on the terminal, and fails without one when there is no terminal (pulumi/pulumi
pkg/secrets/passphrase/manager.go, readPassphraseImpl).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from io import StringIO
from pathlib import Path

from rich.console import Console
from rich.prompt import Prompt

from bootstrap import github_token, handoff
from bootstrap.account_admin import account_access
from bootstrap.account_step import Check, account_step, printed
from bootstrap.answers import DEFAULT_BACKEND, Answers, AnswersError, ask
from bootstrap.environment_stacks import stack_creations

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP_DIR = ROOT / "bootstrap"
POLICY_PACK = ROOT / "policy"
PASSPHRASE_VARIABLES = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
EXIT_NOT_READY = 2

Run = Callable[[list[str], Mapping[str, str], bool], str]

__all__ = ["DEFAULT_BACKEND", "Answers", "ask", "main", "missing_prerequisites", "pulumi_commands"]


def missing_prerequisites(
    environ: Mapping[str, str], on_path: Callable[[str], bool], interactive: bool
) -> list[str]:
    """Everything `make bootstrap` needs and does not have, each with how to get it."""
    missing = []
    if not environ.get("GITHUB_TOKEN"):
        permissions = "".join(f"\n      {line}" for line in github_token.lines())
        missing.append(
            f"GITHUB_TOKEN is not set: export {github_token.KIND}, with these permissions:{permissions}"
        )
    missing += [
        f"`{tool}` is not on PATH ({why}; README, Deploying for real)"
        for tool, why in (("pulumi", "the Pulumi CLI"), ("az", "the Azure CLI, logged in with `az login`"))
        if not on_path(tool)
    ]
    if not interactive and not any(environ.get(name) for name in PASSPHRASE_VARIABLES):
        missing.append(
            "no terminal to type the bootstrap stack's passphrase: set PULUMI_CONFIG_PASSPHRASE_FILE "
            "(or PULUMI_CONFIG_PASSPHRASE)"
        )
    return missing


def passphrase_note(environ: Mapping[str, str]) -> str:
    given = next((name for name in PASSPHRASE_VARIABLES if environ.get(name)), None)
    if given is not None:
        return f"The bootstrap stack's secrets use the passphrase from {given}."
    return (
        "The bootstrap stack's secrets use a passphrase: Pulumi asks for it below (twice when the "
        "stack is new). Keep it: every later `make bootstrap` needs it (or put it in a file and "
        "export PULUMI_CONFIG_PASSPHRASE_FILE=<file>)."
    )


STACK_REFUSED = (
    "Creating an environment's stack failed. Right after `pulumi up` granted you the data-plane roles on "
    "the state containers and keys, Azure may take minutes to apply them: run `make bootstrap` again in a "
    "few minutes (nothing changes twice; the stacks already made are selected)."
)


def pulumi_commands(answers: Answers) -> list[list[str]]:
    """The Pulumi CLI calls, in order, all run in ``bootstrap/``."""
    github = "mlops-bootstrap:github"
    actors = [
        ["pulumi", "config", "set", "--path", f"{github}.{key}[0].{part}", value]
        for key, field in (("releaseManagers", "release_managers"), ("prodReviewers", "prod_reviewers"))
        for part, value in zip(("type", "name"), answers.actor(field), strict=True)
    ]
    return [
        ["pulumi", "stack", "select", "--create", answers.stack, "--secrets-provider", "passphrase"],
        [
            "pulumi",
            "config",
            "set",
            "--path",
            "mlops-bootstrap:platform.subscriptionId",
            answers.subscription,
        ],
        # The provider deploys into this subscription whatever `az account` currently points at.
        ["pulumi", "config", "set", "azure-native:subscriptionId", answers.subscription],
        ["pulumi", "config", "set", "--path", f"{github}.owner", answers.owner],
        ["pulumi", "config", "set", "--path", f"{github}.repository", answers.repository],
        *actors,
        ["pulumi", "config", "set", "--path", f"{github}.codeOwners", answers.code_owners],
        *(
            ["pulumi", "config", "set", "--path", f"mlops-bootstrap:operators[{index}]", operator]
            for index, operator in enumerate(answers.operators)
        ),
        # The same policy pack as the environments' previews and deploys (docs/security.md).
        ["pulumi", "up", "--stack", answers.stack, "--policy-pack", str(POLICY_PACK)],
    ]


def run_bootstrap(
    environ: Mapping[str, str],
    answers: Answers,
    run: Run,
    console: Console,
    root: Path = ROOT,
    *,
    check: Check = account_access,
) -> int:
    """Run the commands against ``answers.backend``, then hand the outputs to the environments."""
    account = account_step(root / "bootstrap" / f"Pulumi.{answers.stack}.yaml", check)
    if account.refusal is not None:
        Console(stderr=True).print(account.refusal, markup=False, highlight=False, soft_wrap=True)
        return EXIT_NOT_READY
    # The pack's federated-credential rule checks subjects against GITHUB_REPOSITORY (policy/pack.py).
    repository = f"{answers.owner}/{answers.repository}"
    env = {**environ, "PULUMI_BACKEND_URL": answers.backend, "GITHUB_REPOSITORY": repository}
    if answers.backend.startswith("file://"):
        Path(answers.backend.removeprefix("file://")).expanduser().mkdir(parents=True, exist_ok=True)
    console.print(passphrase_note(environ), markup=False, highlight=False, soft_wrap=True)
    commands = pulumi_commands(answers)
    for command in [*commands[:-1], *account.config, commands[-1]]:  # the last is `pulumi up`
        console.print(f"$ {' '.join(command)}", markup=False, highlight=False, soft_wrap=True)
        run(command, env, False)
    outputs = run(["pulumi", "stack", "output", "--json", "--stack", answers.stack], env, True)
    code = handoff.main([], root=root, stdin=StringIO(outputs))
    if code == 0:
        # Each environment's stack, before the pull request whose previews read them.
        for creation in stack_creations(json.loads(outputs), root):
            console.print(f"$ {creation.shown()}", markup=False, highlight=False, soft_wrap=True)
            try:
                run(creation.command, {**env, "PULUMI_BACKEND_URL": creation.backend_url}, False)
            except subprocess.CalledProcessError:
                Console(stderr=True).print(STACK_REFUSED, markup=False, highlight=False, soft_wrap=True)
                raise
    still = printed(outputs, account)
    if still:
        console.print(
            "\nFor a Databricks account or metastore admin (docs/bootstrap.md, The Databricks account):"
        )
        console.print("\n".join(still), markup=False, highlight=False, soft_wrap=True)
    if code == 0:
        console.print(
            "\nNext: commit the stack files, the bootstrap stack file and .github on a branch, and open "
            "a pull request (main takes no other way in): its previews read the stacks created above. "
            "Once merged, CI's deploy creates each environment as the deployer the bootstrap created "
            '(docs/bootstrap.md, "First deploy").',
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    return code


def subprocess_run(command: list[str], env: Mapping[str, str], capture: bool) -> str:
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        command, cwd=BOOTSTRAP_DIR, env=dict(env), check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def _prompt(question: str, default: str | None) -> str:
    return Prompt.ask(question, default=default) if default else Prompt.ask(question)


def main(
    environ: Mapping[str, str] = os.environ,
    run: Run = subprocess_run,
    prompt: Callable[[str, str | None], str] = _prompt,
    on_path: Callable[[str], bool] = lambda tool: shutil.which(tool) is not None,
    interactive: bool | None = None,
) -> int:
    console, errors = Console(), Console(stderr=True)
    terminal = sys.stdin.isatty() if interactive is None else interactive
    missing = missing_prerequisites(environ, on_path, terminal)
    if missing:
        lines = ["make bootstrap cannot start; nothing was run:", *(f"  - {m}" for m in missing)]
        errors.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
        return EXIT_NOT_READY
    try:
        answers = ask(environ, prompt, lambda line: errors.print(line, markup=False, highlight=False))
    except AnswersError as error:
        errors.print(str(error), markup=False, highlight=False, soft_wrap=True)
        return EXIT_NOT_READY
    except (EOFError, KeyboardInterrupt):
        errors.print("\nmake bootstrap: input ended before every answer was given; nothing was run")
        return EXIT_NOT_READY
    try:
        return run_bootstrap(environ, answers, run, console)
    except subprocess.CalledProcessError as error:
        errors.print(f"`{' '.join(error.cmd)}` failed (exit {error.returncode}); nothing more was run")
        return error.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
