"""A rehearsal of one workflow job, run in a fresh clone the way a GitHub runner runs it.

- The job's ``run:`` steps run in order with bash, as the runner runs them (``bash -e``, or
  ``bash --noprofile --norc -eo pipefail`` for ``shell: bash``); the repository's composite actions
  (``uses: ./.github/actions/...``) are inlined; a job calling a reusable workflow runs the called
  job with what the call passes: ``uses: <owner>/<repo>/.github/workflows/<file>@main`` is main's
  copy (the clone's ``refs/remotes/origin/main``, whatever the checked-out commit says), and
  ``./.github/workflows/<file>`` the checked-out commit's.
- The clone is a git repository whose ``origin/main`` is the repository as committed; a test may
  check out a commit that is not on main (a release branch or tag pointing anywhere).
- Azure's side of the login: the OIDC subject the job's token would carry (``repo``, ``context``
  and ``job_workflow_ref``, the repository's subject template) must be one a federated credential
  of the plans trusts, or azure/login fails as Azure refuses the exchange.
- Third-party actions count as done: checkout (the clone is the workspace), setup-python (this
  interpreter), setup-uv (uv on ``PATH``), azure/login (its three ids must be non-empty; the
  runner's ``az``, az_standin.py, is then logged in as its client id).
- ``pulumi/actions`` becomes the CLI calls it makes, ``pulumi login <cloud-url>`` (src/login.ts)
  and ``pulumi preview|up --stack ... [--diff] [--refresh] --policy-pack ...`` (its Automation API
  call), against the stand-in ``pulumi`` of pulumi_standin.py.
- Secrets and variables resolve as GitHub resolves them: repository values for a job without an
  environment; in a called workflow only the secrets the caller passes by name, the environment's
  value winning for a passed name (https://docs.github.com/en/actions/how-tos/reuse-automations/
  reuse-workflows; unpassed, a secret is an empty string and nothing fails). Any ``secrets.X`` or
  ``vars.X`` a job reads that resolves empty fails the rehearsal, before the job's first step runs.
- Fast: the clone's ``.venv`` links the suite's installed packages, exactly those the clone's
  ``requirements.lock`` names (what ``make setup`` would sync), so ``make setup`` has nothing to do
  (clone_setup.py); given a ``plan_server``, the stand-in's program runs start from its preloaded
  provider SDKs when those are the files the clone's venv links (plan_server.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plan_server import SERVER_VARIABLE
from workflow_files import load_yaml, load_yaml_text

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
CONTEXT_READ = re.compile(r"(?<![\w.])(?:secrets|vars)\.[A-Za-z0-9_-]+")
UNPASSED = ""  # what GitHub resolves an unknown or unpassed secret to
RUNNER_OWNED = ("ARM_", "AZURE_", "GITHUB_", "PULUMI_", "ACTIONS_", "RUNNER_", "VIRTUAL_ENV", "DATABRICKS_")


class RehearsalError(Exception):
    def __init__(self, transcript: list[str], reason: str) -> None:
        self.transcript, self.reason = transcript, reason
        super().__init__("\n".join([*transcript, f"FAILED: {reason}"]))


@dataclass(frozen=True)
class Environment:
    """A GitHub environment: its deployment rule and what the stack's GitHub component writes."""

    branch_patterns: tuple[str, ...] | None  # None: any branch may deploy
    secrets: Mapping[str, str]
    variables: Mapping[str, str]


@dataclass(frozen=True)
class Repository:
    full_name: str
    secrets: Mapping[str, str]
    variables: Mapping[str, str]
    environments: Mapping[str, Environment]
    trusted_subjects: frozenset[str] = frozenset()  # every federated credential's subject
    state_access: Mapping[str, frozenset[str]] = field(default_factory=dict)  # client id -> containers


@dataclass(frozen=True)
class Event:
    name: str  # pull_request | push
    branch: str  # the pushed branch, or the pull request's base branch


@dataclass
class Context:
    github: dict[str, Any]
    secrets: Mapping[str, str]
    variables: Mapping[str, str]
    matrix: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    # A caller may pass a secret by name that only the callee's environment holds: empty is fine there.
    strict: bool = True

    def value(self, path: str) -> Any:
        head, _, rest = path.partition(".")
        roots = {"github": self.github, "secrets": self.secrets, "vars": self.variables,
                 "matrix": self.matrix, "inputs": self.inputs, "steps": self.steps}  # fmt: skip
        if head not in roots:
            raise ValueError(f"context {head!r} is not modelled")
        value: Any = roots[head]
        for part in rest.split("."):
            value = value.get(part, UNPASSED) if isinstance(value, Mapping) else UNPASSED
        return value


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A workflow filter or deployment-rule pattern: `*` never matches `/`, `**` matches anything."""
    if re.search(r"[?\[\]!+]", pattern):
        raise ValueError(f"pattern {pattern!r} uses syntax the rehearsal does not model")
    parts = (re.escape(p).replace(r"\*", "[^/]*") for p in pattern.split("**"))
    return re.compile(".*".join(parts) + r"\Z")


def matches(patterns: Iterable[str], name: str) -> bool:
    return any(glob_regex(p).match(name) for p in patterns)


def _text(value: Any) -> str:
    """A value as GitHub writes it into an environment variable or an input: booleans lowercase."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _strings(value: Any) -> Iterable[str]:
    """The strings in a step's ``run``, ``with`` or ``env`` value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)


class Runner:
    """Runs one job of the clone's workflows; ``transcript`` says what ran and what was checked."""

    def __init__(
        self, clone: Path, repository: Repository, tools: Path, stand_in: Path, plan_server: str | None = None
    ) -> None:
        self.clone, self.repository, self.tools, self.stand_in = clone, repository, tools, stand_in
        self.plan_server = plan_server  # the socket of plan_server.py, for the stand-in's program runs
        self.transcript: list[str] = []
        self.where = ""  # workflow:job running now, for messages
        self.env: dict[str, str] = {}  # the job's process environment, as steps change it
        self.login_subscription: str | None = None
        self.workflow_ref = ""  # the job_workflow_ref claim of the job running now
        self.context_claim = ""  # the context claim (environment:<name>, pull_request, ref:<ref>)

    def fail(self, reason: str) -> RehearsalError:
        return RehearsalError(self.transcript, reason)

    def evaluate(self, expression: str, context: Context) -> Any:
        """The expressions this repository's workflows use: paths, literals, ==, !=, &&, startsWith."""
        terms = [t.strip() for t in expression.split("&&")]
        if len(terms) > 1:
            return all(self.evaluate(t, context) for t in terms)
        if call := re.fullmatch(r"startsWith\((.+?),\s*(.+)\)", expression):
            first, second = (str(self.evaluate(a, context)) for a in call.groups())
            return first.startswith(second)
        if compare := re.fullmatch(r"(.+?)\s*(==|!=)\s*(.+)", expression):
            left, right = (self.evaluate(compare[i], context) for i in (1, 3))
            return (left == right) is (compare[2] == "==")
        if literal := re.fullmatch(r"'([^']*)'", expression):
            return literal[1]
        if expression in ("true", "false"):
            return expression == "true"
        value = context.value(expression)
        if context.strict and expression.startswith(("secrets.", "vars.")) and value in (UNPASSED, None):
            raise self.fail(f"{self.where}: `{expression}` is empty there; it never reaches the job")
        return value

    def render(self, value: Any, context: Context) -> Any:
        if isinstance(value, str):
            whole = EXPRESSION.fullmatch(value.strip())
            if whole:
                return self.evaluate(whole[1], context)
            return EXPRESSION.sub(lambda m: str(self.evaluate(m[1], context)), value)
        if isinstance(value, dict):
            return {k: self.render(v, context) for k, v in value.items()}
        return value

    def run_job(
        self, workflow: str, job_id: str, event: Event, matrix: Mapping[str, str] | None = None
    ) -> None:
        document = self._workflow(workflow)
        triggers = document["on"].get(event.name)
        if triggers is None or not matches(triggers.get("branches", ["**"]), event.branch):
            raise self.fail(f"{workflow} does not run on {event.name} for branch {event.branch!r}")
        job = document["jobs"][job_id]
        github = self._github_context(event)
        context = Context(github, self.repository.secrets, self.repository.variables, dict(matrix or {}))
        self.where = f"{workflow}:{job_id}"
        if "if" in job and not self.evaluate(str(job["if"]), context):
            raise self.fail(f"{self.where} is skipped for {event.name} on {event.branch!r}")
        shown = "".join(f", {k}={v}" for k, v in (matrix or {}).items())
        self.transcript.append(f"job {self.where} ({event.name} on {event.branch}{shown})")
        self.workflow_ref = f"{self.repository.full_name}/.github/workflows/{workflow}@{github['ref']}"
        self.context_claim = "pull_request" if event.name == "pull_request" else f"ref:{github['ref']}"
        if "uses" in job:
            self._call(job, context, event)
        else:
            self._run_steps(job, context, event)

    def _called(self, uses: str) -> tuple[str, dict[str, Any]]:
        """A reusable workflow's file name and document: main's copy, or the checked-out commit's."""
        if uses.startswith("./.github/workflows/"):
            name = uses.removeprefix("./.github/workflows/")
            self.workflow_ref = (
                f"{self.repository.full_name}/.github/workflows/{name}@{self.workflow_ref.split('@')[1]}"
            )
            return name, self._workflow(name)
        remote = re.fullmatch(r"([^/]+/[^/]+)/\.github/workflows/([^@]+)@(.+)", uses)
        if remote is None or remote[1] != self.repository.full_name or remote[3] != "main":
            raise self.fail(f"{self.where}: `uses: {uses}` is not this repository's workflow at main")
        name = remote[2]
        self.workflow_ref = f"{self.repository.full_name}/.github/workflows/{name}@refs/heads/main"
        text = self._git("show", f"refs/remotes/origin/main:.github/workflows/{name}")
        return name, load_yaml_text(text)

    def _call(self, job: dict[str, Any], caller: Context, event: Event) -> None:
        """A reusable workflow's job, with the inputs and the secrets the calling job passes."""
        name, called = self._called(str(job["uses"]))
        declared = (called["on"]["workflow_call"] or {}).get("secrets") or {}
        lenient = Context(caller.github, caller.secrets, caller.variables, caller.matrix, strict=False)
        passed = self.render(job.get("secrets") or {}, lenient)
        if passed == "inherit":
            raise self.fail(f"{self.where}: `secrets: inherit` hands every secret over; pass them by name")
        if undeclared := sorted(set(passed) - set(declared)):
            raise self.fail(f"{self.where} passes {undeclared}, which {name} does not declare")
        for secret, spec in declared.items():
            if (spec or {}).get("required") and secret not in passed:
                raise self.fail(f"{name} requires secret {secret}; {self.where} does not pass it")
        inputs = self.render(job.get("with") or {}, caller)
        (inner_id, inner), *_ = called["jobs"].items()
        self.where = f"{name}:{inner_id}"
        environment = str(
            self.render(inner.get("environment", ""), Context(caller.github, {}, {}, {}, inputs))
        )
        secrets = {secret: str(value) for secret, value in passed.items()}
        variables = dict(self.repository.variables)
        if environment:
            env = self._environment(environment, event)
            secrets = {secret: env.secrets.get(secret) or value for secret, value in secrets.items()}
            variables |= env.variables
            self.context_claim = f"environment:{environment}"
        self.transcript.append(
            f"  calls {self.where} in environment {environment!r}; passes {sorted(passed)}"
        )
        self._run_steps(inner, Context(caller.github, secrets, variables, {}, inputs), event)

    def _git(self, *args: str) -> str:
        result = subprocess.run(["git", *args], cwd=self.clone, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise self.fail(f"{self.where}: git {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def _workflow(self, name: str) -> dict[str, Any]:
        return load_yaml(self.clone / ".github" / "workflows" / name)

    def _environment(self, name: str, event: Event) -> Environment:
        if name not in self.repository.environments:
            raise self.fail(f"{self.where}: no GitHub environment {name!r}")
        env = self.repository.environments[name]
        if env.branch_patterns is not None and not matches(env.branch_patterns, event.branch):
            rule = list(env.branch_patterns)
            raise self.fail(
                f"{self.where}: environment {name!r} refuses branch {event.branch!r} (rule {rule})"
            )
        return env

    def _github_context(self, event: Event) -> dict[str, Any]:
        ref = f"refs/heads/{event.branch}" if event.name == "push" else "refs/pull/1/merge"
        same_repo = {"head": {"repo": {"full_name": self.repository.full_name}}}
        return {"ref": ref, "repository": self.repository.full_name, "event_name": event.name,
                "sha": self._git("rev-parse", "HEAD").strip(),
                "event": {"pull_request": same_repo} if event.name == "pull_request" else {}}  # fmt: skip

    def _run_steps(self, job: dict[str, Any], context: Context, event: Event) -> None:
        # The machine's own settings (PATH, certificates, package index) stay; nothing that would
        # stand in for what the job itself must provide (credentials, Pulumi or GitHub settings).
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(RUNNER_OWNED) and k != "CI"}
        self.env |= {
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": self.repository.full_name,
            "GITHUB_REF": context.github["ref"], "GITHUB_SHA": context.github["sha"],
            "GITHUB_EVENT_NAME": event.name, "GITHUB_WORKSPACE": str(self.clone), "RUNNER_OS": "Linux",
        }  # fmt: skip
        if (job.get("permissions") or {}).get("id-token") == "write":  # the runner offers an OIDC token
            self.env |= {
                "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.invalid",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
            }
        self.env |= {k: _text(v) for k, v in self.render(job.get("env") or {}, context).items()}
        self.env |= self._azure_cli()
        steps = self._expand(job["steps"])
        self._check_secrets_and_variables(steps, context)
        for index, step in enumerate(steps):
            self._run_step(index, step, context)

    def _azure_cli(self) -> dict[str, str]:
        """The runner's preinstalled ``az`` (az_standin.py), with its own profile directory."""
        tools, profile = self.clone.parent / "runner-bin", self.clone.parent / "azure-profile"
        tools.mkdir(exist_ok=True)
        profile.mkdir(exist_ok=True)
        standin = Path(__file__).with_name("az_standin.py")
        wrapper = tools / "az"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{standin}" "$@"\n', encoding="utf-8")
        wrapper.chmod(0o755)
        return {"PATH": f"{tools}{os.pathsep}{self.env['PATH']}", "AZURE_CONFIG_DIR": str(profile)}

    def _check_secrets_and_variables(self, steps: list[dict[str, Any]], context: Context) -> None:
        """Every ``secrets.X`` and ``vars.X`` the steps read, resolved before the first step runs.

        Their values do not depend on what any step does, and every step runs (no step-level
        ``if:`` is modelled), so one that resolves empty fails the job with the same reason it
        would give at its step; found here, the job stops without running the steps before it.
        """
        for step in steps:
            for key in ("run", "with", "env"):
                for text in _strings(step.get(key)):
                    for expression in EXPRESSION.findall(text):
                        for path in CONTEXT_READ.findall(expression):
                            self.evaluate(path, context)

    def _expand(self, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Steps with the repository's composite actions inlined."""
        expanded: list[dict[str, Any]] = []
        for step in steps:
            uses = str(step.get("uses", ""))
            if not uses.startswith("./"):
                expanded.append(step)
                continue
            action = self.clone / uses / "action.yml"
            if not action.is_file():
                raise self.fail(f"{self.where}: {uses} has no action.yml")
            expanded += self._expand(load_yaml(action)["runs"]["steps"])
        return expanded

    def _run_step(self, index: int, step: dict[str, Any], context: Context) -> None:
        name = step.get("name") or step.get("run") or step.get("uses")
        env = {**self.env, **{k: _text(v) for k, v in self.render(step.get("env") or {}, context).items()}}
        if "run" in step:
            self._run_script(index, step, context, env)
            return
        action = str(step["uses"]).split("@")[0]
        inputs = self.render(step.get("with") or {}, context)
        if action == "astral-sh/setup-uv":
            self.env["PATH"] = f"{self.tools}{os.pathsep}{self.env['PATH']}"
        elif action == "azure/login":
            if missing := [
                key for key in ("client-id", "tenant-id", "subscription-id") if not inputs.get(key)
            ]:
                raise self.fail(f"{self.where}: azure/login got no {missing}")
            subject = (
                f"repo:{self.repository.full_name}:{self.context_claim}:job_workflow_ref:{self.workflow_ref}"
            )
            if subject not in self.repository.trusted_subjects:
                raise self.fail(
                    f"{self.where}: Azure refuses the token: no federated credential trusts subject {subject}"
                )
            self.transcript.append(f"  - Azure accepts the token's subject {subject}")
            self.login_subscription = str(inputs["subscription-id"])
            login = {"clientId": str(inputs["client-id"]), "subscriptionId": self.login_subscription}
            (Path(self.env["AZURE_CONFIG_DIR"]) / "standin-login.json").write_text(json.dumps(login))
        elif action == "pulumi/actions" and "command" not in inputs:
            # Install only (pulumi/actions src/main.ts, installOnly): later steps call `pulumi`.
            self.env["PATH"] = f"{self.stand_in}{os.pathsep}{self.env['PATH']}"
            self.env |= self._stand_in_env()
        elif action == "pulumi/actions":
            self._pulumi(inputs, env)
            return
        elif action not in ("actions/checkout", "actions/setup-python"):
            raise self.fail(f"{self.where}: action {action} is not modelled")
        self.transcript.append(f"  - {name}: {action} (done)")

    def _run_script(self, index: int, step: dict[str, Any], context: Context, env: dict[str, str]) -> None:
        command = str(self.render(step["run"], context)).strip()
        script, output = self.clone.parent / f"step-{index}.sh", self.clone.parent / f"output-{index}"
        script.write_text(command + "\n", encoding="utf-8")
        output.write_text("", encoding="utf-8")
        # GitHub's defaults on Linux: `bash -e {0}`, or this for an explicit `shell: bash`.
        shell = (
            ["bash", "--noprofile", "--norc", "-eo", "pipefail"]
            if step.get("shell") == "bash"
            else ["bash", "-e"]
        )
        started = time.perf_counter()
        result = subprocess.run(
            [*shell, str(script)], cwd=self.clone, env={**env, "GITHUB_OUTPUT": str(output)},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        took = time.perf_counter() - started
        self.transcript.append(
            f"  - {step.get('name', command)}: $ {command} (exit {result.returncode}, {took:.1f} s)"
        )
        self.transcript += [f"    {line}" for line in result.stdout.splitlines() if "(stand-in)" in line]
        if result.returncode != 0:
            raise self.fail(f"{self.where}: `{command}` failed:\n{(result.stdout + result.stderr)[-3000:]}")
        if "id" in step:
            lines = output.read_text(encoding="utf-8").splitlines()
            context.steps[str(step["id"])] = {
                "outputs": dict(line.split("=", 1) for line in lines if "=" in line)
            }

    def _stand_in_env(self) -> dict[str, str]:
        """What the stand-in CLI reads besides the job's variables: its plan server and the folder
        standing in for the state backend (its locks)."""
        extra = {
            "REHEARSAL_BACKEND": str(self.clone.parent / "backend"),
            "REHEARSAL_STATE_ACCESS": json.dumps(
                {c: sorted(v) for c, v in self.repository.state_access.items()}
            ),
        }
        if self.plan_server:
            extra[SERVER_VARIABLE] = self.plan_server
        return extra

    def _pulumi(self, inputs: dict[str, Any], env: dict[str, str]) -> None:
        """What pulumi/actions runs: `pulumi login <cloud-url>`, then the command, on the stand-in."""
        work_dir = self.clone / str(inputs.get("work-dir", "./"))
        packs = [p.strip() for p in re.split(r"[;\n]", str(inputs.get("policyPacks", ""))) if p.strip()]
        command = [
            "pulumi",
            str(inputs["command"]),
            "--stack",
            str(inputs["stack-name"]),
            "--non-interactive",
        ]
        command += [
            f"--{flag}" for flag in ("diff", "refresh") if _text(inputs.get(flag, "")).lower() == "true"
        ]
        command += ["--yes", "--skip-preview"] if inputs["command"] == "up" else []
        command += [arg for pack in packs for arg in ("--policy-pack", pack)]
        if self.login_subscription != env.get("ARM_SUBSCRIPTION_ID"):
            raise self.fail(f"{self.where}: azure/login and ARM_SUBSCRIPTION_ID name different subscriptions")
        env = {**env, "PATH": f"{self.stand_in}{os.pathsep}{env['PATH']}", **self._stand_in_env()}
        login = [
            "pulumi",
            "--non-interactive",
            "--cwd",
            str(work_dir),
            "login",
            str(inputs.get("cloud-url", "")),
        ]
        for argv in (login, command):
            result = subprocess.run(argv, cwd=work_dir, env=env, capture_output=True, text=True, check=False)
            self.transcript += [f"    {line}" for line in result.stdout.strip().splitlines()]
            if result.returncode != 0:
                output = (result.stdout + result.stderr).strip()[-3000:]
                raise self.fail(f"{self.where}: `{' '.join(argv[:2])} ...` failed: {output}")
