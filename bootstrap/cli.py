"""``make bootstrap``: ask for what the bootstrap needs, run its ``pulumi up``, hand its outputs on.

Asks (or reads from the environment variable in brackets) for the Azure subscription
[AZURE_SUBSCRIPTION_ID], the GitHub owner [GITHUB_OWNER] and repository [GITHUB_REPOSITORY], who
may push release tags [RELEASE_MANAGERS], who deploys by hand [BOOTSTRAP_OPERATORS], the bootstrap
stack's name [BOOTSTRAP_STACK] and where its state lives [BOOTSTRAP_BACKEND]; the GitHub token
comes only from GITHUB_TOKEN. Then, in ``bootstrap/``: select or create the stack, set those
values, ``pulumi up`` (Pulumi shows the preview and asks before changing anything), and
``python -m bootstrap.handoff`` on its outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from rich.console import Console
from rich.prompt import Prompt

from bootstrap import handoff

ROOT = Path(__file__).resolve().parent.parent
BOOTSTRAP_DIR = ROOT / "bootstrap"
POLICY_PACK = ROOT / "policy"
DEFAULT_BACKEND = "file://" + str(Path.home() / ".pulumi-mlops-bootstrap")
GITHUB_ACCESS_HELP = (
    "GITHUB_TOKEN is not set. Export a fine-grained token (or GitHub App token) for the repository "
    "with Administration, Secrets and Variables: read/write (and organisation Members: read when "
    "release managers are a team), then run `make bootstrap` again."
)
EXIT_NOT_READY = 2

# (environment variable, question); the answers' order.
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("AZURE_SUBSCRIPTION_ID", "Azure subscription id (see `az account show --query id -o tsv`)"),
    ("GITHUB_OWNER", "GitHub organisation or user that owns the repository"),
    ("GITHUB_REPOSITORY", "GitHub repository name (without the owner)"),
    ("RELEASE_MANAGERS", "Who may push v* tags: a team slug, or user:<login> for a personal repository"),
    (
        "BOOTSTRAP_OPERATORS",
        "Entra object ids of who deploys by hand, comma-separated (a group is best; yours: "
        "`az ad signed-in-user show --query id -o tsv`)",
    ),
    ("BOOTSTRAP_STACK", "Bootstrap stack name (one per organisation or subscription)"),
    ("BOOTSTRAP_BACKEND", "Where the bootstrap's own state lives (a local directory, or azblob://...)"),
)

Run = Callable[[list[str], Mapping[str, str], bool], str]


@dataclass(frozen=True)
class Answers:
    subscription: str
    owner: str
    repository: str
    release_managers: str
    operators: str
    stack: str
    backend: str


def ask(environ: Mapping[str, str], prompt: Callable[[str, str | None], str]) -> Answers:
    """Every answer, from the environment when set, else from ``prompt`` (question, default)."""
    defaults = {"BOOTSTRAP_BACKEND": DEFAULT_BACKEND}
    values: dict[str, str] = {}
    for variable, question in QUESTIONS:
        default = defaults.get(variable) or (
            values["GITHUB_OWNER"] if variable == "BOOTSTRAP_STACK" else None
        )
        value = environ.get(variable) or prompt(f"{question} [{variable}]", default)
        values[variable] = value.strip()
    return Answers(*(values[variable] for variable, _ in QUESTIONS))


def tag_pusher(answer: str) -> tuple[str, str]:
    """``user:<login>`` -> (user, login); anything else is a team slug."""
    kind, _, name = answer.partition(":")
    return ("user", name) if kind == "user" and name else ("team", answer)


def pulumi_commands(answers: Answers) -> list[list[str]]:
    """The Pulumi CLI calls, in order, all run in ``bootstrap/``."""
    kind, name = tag_pusher(answers.release_managers)
    github = "mlops-bootstrap:github"
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
        ["pulumi", "config", "set", "--path", f"{github}.tagPushers[0].type", kind],
        ["pulumi", "config", "set", "--path", f"{github}.tagPushers[0].name", name],
        *(
            ["pulumi", "config", "set", "--path", f"mlops-bootstrap:operators[{index}]", operator.strip()]
            for index, operator in enumerate(answers.operators.split(","))
            if operator.strip()
        ),
        # The same policy pack as the environments' previews and deploys (docs/security.md).
        ["pulumi", "up", "--stack", answers.stack, "--policy-pack", str(POLICY_PACK)],
    ]


def run_bootstrap(
    environ: Mapping[str, str], answers: Answers, run: Run, console: Console, root: Path = ROOT
) -> int:
    """Run the commands against ``answers.backend``, then hand the outputs to the environments."""
    # The pack's federated-credential rule checks subjects against GITHUB_REPOSITORY (policy/pack.py).
    repository = f"{answers.owner}/{answers.repository}"
    env = {**environ, "PULUMI_BACKEND_URL": answers.backend, "GITHUB_REPOSITORY": repository}
    if answers.backend.startswith("file://"):
        Path(answers.backend.removeprefix("file://")).expanduser().mkdir(parents=True, exist_ok=True)
    for command in pulumi_commands(answers):
        console.print(f"$ {' '.join(command)}", markup=False, highlight=False, soft_wrap=True)
        run(command, env, False)
    outputs = run(["pulumi", "stack", "output", "--json", "--stack", answers.stack], env, True)
    code = handoff.main([], root=root, stdin=StringIO(outputs))
    if code == 0:
        backend_url = json.loads(outputs).get("backendUrl", "<backendUrl>")
        console.print(
            "\nNext, per environment (as an Azure Owner): "
            f"`pulumi login '{backend_url}'`, the `pulumi stack init` line above, `pulumi up -s <env>`; "
            "then add its `deployerPrincipalId` under mlops-bootstrap:deployers and run "
            "`make bootstrap` again.",
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


def main(environ: Mapping[str, str] = os.environ, run: Run = subprocess_run) -> int:
    console, errors = Console(), Console(stderr=True)
    if not environ.get("GITHUB_TOKEN"):
        errors.print(GITHUB_ACCESS_HELP, markup=False, highlight=False, soft_wrap=True)
        return EXIT_NOT_READY
    missing = [tool for tool in ("pulumi", "az") if run is subprocess_run and shutil.which(tool) is None]
    if missing:
        errors.print(f"not on PATH: {', '.join(missing)} (README, Deploying for real)", markup=False)
        return EXIT_NOT_READY
    answers = ask(environ, _prompt)
    try:
        return run_bootstrap(environ, answers, run, console)
    except subprocess.CalledProcessError as error:
        errors.print(f"`{' '.join(error.cmd)}` failed (exit {error.returncode}); nothing more was run")
        return error.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
