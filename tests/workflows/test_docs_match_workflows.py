"""docs/ci.md and the README's "Deploying for real" say what the workflows run, command for command.

Each job's commands are read from the workflow itself: its `run:` lines (composite actions
inlined), azure/login as `az login`, and pulumi/actions as the two CLI calls it makes
(`pulumi login <cloud-url>`, then the command with the flags its inputs turn on). A command is
compared by what it does (tool, subcommand or target, and the flags that change the run), not by
how a value such as the stack name is spelled.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from workflow_files import ACTIONS, REPOSITORY_SECRETS, ROOT, WORKFLOWS, load_yaml

DOCS_CI = ROOT / "docs" / "ci.md"
README = ROOT / "README.md"
BLOCK = re.compile(r"<!-- commands: (?P<workflow>\S+) (?P<job>\S+) -->\s*```sh\n(?P<body>.*?)```", re.S)
RUN_FLAGS = ("--diff", "--refresh")  # flags that change what a preview or an update does
# A person picks the subscription and the stack by hand; the deploy job asks az for the Databricks
# provider's tokens ahead, and creates (first deploy) or selects the stack and exports it for the guard.
HUMAN_ONLY = ("az account", "pulumi stack")
# CI's guard against the ref that triggered it (only commits on main deploy); a person picks the commit.
CI_ONLY = ("git",)


def signature(line: str) -> str | None:
    """What a shell line does, or None for a comment or a variable assignment."""
    words = _unwrapped(shlex.split(line, comments=True))
    assignments = []
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        assignments.append(words.pop(0))
    if not words:
        return None
    command, *args = words
    # The CLI reads PULUMI_OPTION_<FLAG> as --<flag> (pkg/cmd/pulumi/pulumi.go).
    args += [f"--{a.removeprefix('PULUMI_OPTION_').split('=')[0].lower()}={a.split('=', 1)[1]}"
             for a in assignments if a.startswith("PULUMI_OPTION_")]  # fmt: skip
    if command == "make":
        return " ".join(["make", *(a for a in args if "=" not in a and not a.startswith("-"))])
    if command.endswith("python") and args[:1] == ["-m"]:
        return f"python -m {args[1]}"
    if command == "az":
        return f"az {args[0]}"
    if command == "pulumi":
        return _pulumi_signature(args)
    return command


def _unwrapped(words: list[str]) -> list[str]:
    """The command `timeout [options] <duration> <command...>` runs, or the words as they are."""
    if words[:1] != ["timeout"]:
        return words
    rest = words[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[1:]
    return rest[1:]


def _pulumi_signature(args: list[str]) -> str:
    with_value = {"--stack", "-s", "--cwd", "--policy-pack", "--secrets-provider"}
    words, flags, packs, skip = [], [], [], False
    for index, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg in with_value:
            skip = True
            if arg == "--policy-pack":
                packs.append(args[index + 1])
        elif arg.startswith("-"):
            flags += [arg] if arg.split("=")[0] in RUN_FLAGS else []
        else:
            words.append(arg)
    subcommand = words[:2] if words[:1] == ["stack"] else words[:1]
    return " ".join(["pulumi", *subcommand, *sorted(flags), *(f"--policy-pack {p}" for p in packs)])


def job_signatures(workflow: str, job: str) -> list[str]:
    """The commands a workflow job runs, in order."""
    found: list[str] = []
    for step in _expanded(load_yaml(WORKFLOWS / workflow)["jobs"][job]["steps"]):
        uses = str(step.get("uses", "")).split("@")[0]
        if "run" in step:
            found += [s for line in str(step["run"]).splitlines() if (s := signature(line))]
        elif uses == "azure/login":
            found.append("az login")
        elif uses == "pulumi/actions" and "command" not in step["with"]:
            continue  # install-only: the CLI itself, at the pinned version
        elif uses == "pulumi/actions":
            inputs, env = step["with"], step.get("env") or {}
            flags = [f for f in RUN_FLAGS if inputs.get(f.removeprefix("--")) is True]
            flags += [f"--refresh={env['PULUMI_OPTION_REFRESH']}"] if "PULUMI_OPTION_REFRESH" in env else []
            flags.sort()
            packs = [f"--policy-pack {p}" for p in str(inputs.get("policyPacks", "")).split(";") if p]
            found += ["pulumi login", " ".join(["pulumi", inputs["command"], *flags, *packs])]
    return found


def _expanded(steps: list[dict[str, object]]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for step in steps:
        uses = str(step.get("uses", ""))
        if uses.startswith("./.github/actions/"):
            out += _expanded(
                load_yaml(ACTIONS / uses.removeprefix("./.github/actions/") / "action.yml")["runs"]["steps"]
            )
        else:
            out.append(step)
    return out


def _blocks(path: Path) -> dict[tuple[str, str], list[str]]:
    text = path.read_text(encoding="utf-8")
    return {
        (m["workflow"], m["job"]): [s for line in m["body"].splitlines() if (s := signature(line))]
        for m in BLOCK.finditer(text)
    }


JOBS = [("pr.yml", "checks"), ("pr-preview.yml", "preview"), ("pulumi-up.yml", "up")]


@pytest.mark.parametrize(("workflow", "job"), JOBS)
def test_docs_ci_lists_each_jobs_commands_exactly(workflow: str, job: str) -> None:
    documented = _blocks(DOCS_CI)
    assert (workflow, job) in documented, f"docs/ci.md has no `<!-- commands: {workflow} {job} -->` block"
    assert documented[(workflow, job)] == job_signatures(workflow, job)


def test_readme_deploys_by_hand_with_the_commands_ci_runs() -> None:
    """A person previews, then updates, with what the preview job and the deploy job run; only
    choosing the subscription and the stack are theirs alone."""
    (readme,) = _blocks(README).values()
    preview = job_signatures("pr-preview.yml", "preview")
    up = [s for s in job_signatures("pulumi-up.yml", "up") if not s.startswith((*CI_ONLY, *HUMAN_ONLY))]
    assert preview[:-1] == up[:-1], "the preview and the deploy job prepare the same way"
    assert [s for s in readme if not s.startswith(HUMAN_ONLY)] == [*preview, up[-1]]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("make setup", "make setup"),
        (
            '.venv/bin/python -m stacks.subscription "$STACK" >> "$GITHUB_OUTPUT"',
            "python -m stacks.subscription",
        ),
        ("pulumi up --stack dev --refresh --policy-pack policy", "pulumi up --refresh --policy-pack policy"),
        ("pulumi up -s dev", "pulumi up"),
        (
            "timeout --foreground --signal=INT --kill-after=8m 45m pulumi up -s dev --refresh",
            "pulumi up --refresh",
        ),
        ("PULUMI_OPTION_REFRESH=false pulumi preview -s dev", "pulumi preview --refresh=false"),
        ("pulumi preview --refresh=false --diff", "pulumi preview --diff --refresh=false"),
        ("pulumi --non-interactive --cwd . login azblob://x", "pulumi login"),
        ("pulumi stack init dev --secrets-provider=passphrase", "pulumi stack init"),
        ("STACK=dev", None),
        ("# a comment", None),
    ],
)
def test_signature_keeps_what_changes_the_run(line: str, expected: str | None) -> None:
    assert signature(line) == expected


def test_docs_ci_names_every_repository_secret_and_variable_the_workflows_read() -> None:
    """What a repository owner sets by hand is what the jobs read that no environment holds."""
    section = DOCS_CI.read_text(encoding="utf-8").split("## What a repository owner still clicks by hand")[1]
    section = section.split("\n## ", 1)[0]
    for name in REPOSITORY_SECRETS:
        assert f"`{name}`" in section
    read = {
        m
        for path in WORKFLOWS.glob("*.yml")
        for m in re.findall(r"(?:secrets|vars)\.([A-Z_]+)", path.read_text())
    }
    environment_secrets = {"AZURE_CLIENT_ID", "AZURE_TENANT_ID"}  # written by infra/github.py per environment
    assert read - environment_secrets <= set(REPOSITORY_SECRETS)
