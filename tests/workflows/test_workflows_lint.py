"""actionlint-class checks that GitHub's schema and zizmor do not make.

Every reference a workflow makes must resolve in this repository: local actions and reusable
workflows, the inputs and secrets a call passes (declared, and every required one passed; never
`secrets: inherit`), the contexts an expression reads (`steps.<id>` of an earlier step, the
job's matrix, declared inputs and secrets), and every file, make target and Python module a
`run:` step names. And a job that runs Pulumi first builds what the program and the policy pack
need (the wheel, the pack's venv), on its own runner.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from workflow_files import ACTIONS, ROOT, VENV_BIN, WORKFLOWS, Job, Step, composite_steps, load_yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
CONTEXT_PATH = re.compile(
    r"\b(github|secrets|vars|matrix|inputs|steps|needs|env|runner|job)\.([A-Za-z0-9_.-]+)"
)
MAKE_TARGET = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*):(?!=)", re.MULTILINE)
PULUMI_ACTION = "pulumi/actions"


def make_targets(makefile: Path = ROOT / "Makefile") -> set[str]:
    return set(MAKE_TARGET.findall(makefile.read_text(encoding="utf-8")))


def missing_references(script: str, root: Path = ROOT, targets: set[str] | None = None) -> list[str]:
    """What a `run:` script names that does not exist: make targets, files, `python -m` modules."""
    known = make_targets(root / "Makefile") if targets is None else targets
    missing: list[str] = []
    for line in script.splitlines():
        words = [w for w in shlex.split(line, comments=True) if not w.startswith("$")]
        if not words:
            continue
        command, *args = words
        if command == "make":
            missing += [
                f"make target {t}" for t in args if not t.startswith("-") and "=" not in t and t not in known
            ]
            continue
        if "/" in command and not _exists(root, command):
            missing.append(f"file {command}")
        if command.endswith("python") and args[:1] == ["-m"] and not _module_exists(root, args[1]):
            missing.append(f"module {args[1]}")
    return missing


def _exists(root: Path, path: str) -> bool:
    """A repository file, or a tool `make setup` installs into .venv (present in the suite's venv)."""
    if path.startswith(".venv/bin/"):
        return (VENV_BIN / path.removeprefix(".venv/bin/")).exists()
    return (root / path).exists()


def _module_exists(root: Path, module: str) -> bool:
    relative = Path(*module.split("."))
    local = (root / relative).with_suffix(".py").is_file() or (root / relative / "__main__.py").is_file()
    return local or importlib.util.find_spec(module) is not None


def _run_steps(jobs: list[Job]) -> list[Step]:
    return [s for job in jobs for s in job.steps if "run" in s.body] + [
        s for s in composite_steps() if "run" in s.body
    ]


def test_every_run_step_names_only_existing_files_targets_and_modules(jobs: list[Job]) -> None:
    steps = _run_steps(jobs)
    assert steps
    for step in steps:
        assert missing_references(step.body["run"]) == [], f"{step.workflow}:{step.job}: {step.body['run']!r}"


@pytest.mark.parametrize(
    ("script", "found"),
    [
        ("make wheel policy-venv", []),
        ("make whel", ["make target whel"]),
        ("make policy-env", ["make target policy-env"]),
        ("make plan STACK=dev", []),
        (".venv/bin/python -m stacks.subscription dev", []),
        (".venv/bin/python -m stacks.subscriptions dev", ["module stacks.subscriptions"]),
        ("scripts/deploy.sh --now", ["file scripts/deploy.sh"]),
        ('echo "packs=policy" >> "$GITHUB_OUTPUT"', []),
    ],
)
def test_the_reference_check_catches_what_does_not_exist(script: str, found: list[str]) -> None:
    assert missing_references(script) == found


def test_local_references_use_the_documented_form_and_resolve() -> None:
    """`./.github/...` for the composite action and the reusable workflow (not the recent `$/`)."""
    found = 0
    for path in [*WORKFLOWS.glob("*.yml"), *ACTIONS.glob("*/action.yml")]:
        for ref in re.findall(r"uses:\s*(\S+)", path.read_text(encoding="utf-8")):
            if "@" in ref:
                continue
            found += 1
            assert ref.startswith("./.github/"), f"{path.name}: {ref}"
            target = ROOT / ref
            assert (target / "action.yml").is_file() or target.is_file(), f"{path.name}: {ref} does not exist"
    assert found


def _called(job: Job) -> dict[str, Any]:
    return dict(load_yaml(WORKFLOWS / str(job.calls))["on"]["workflow_call"] or {})


def test_calls_pass_declared_inputs_and_secrets_by_name_and_every_required_one(jobs: list[Job]) -> None:
    """A called workflow sees only the secrets passed to it by name, environment secrets included;
    an unpassed one is an empty string and nothing fails (docs/ci.md). `required: true` makes
    GitHub refuse the call instead, and `secrets: inherit` would hand over every secret."""
    callers = [job for job in jobs if job.calls]
    assert callers
    for job in callers:
        spec = _called(job)
        passed_inputs, passed_secrets = job.body.get("with") or {}, job.body.get("secrets")
        assert isinstance(passed_secrets, dict), f"{job.workflow}:{job.name}: pass secrets by name"
        for kind, declared, passed in (("input", spec.get("inputs") or {}, passed_inputs),
                                       ("secret", spec.get("secrets") or {}, passed_secrets)):  # fmt: skip
            assert set(passed) <= set(declared), f"{job.workflow}:{job.name}: undeclared {kind}s"
            required = {name for name, item in declared.items() if (item or {}).get("required")}
            assert required <= set(passed), f"{job.workflow}:{job.name}: required {kind}s not passed"
            for name, value in passed.items():
                if kind == "secret":
                    assert value == f"${{{{ secrets.{name} }}}}", f"{job.workflow}:{job.name}: {name}"


def _references(node: Any) -> list[tuple[str, str]]:
    text = str(node)
    return [(m[0], m[1]) for e in EXPRESSION.findall(text) for m in CONTEXT_PATH.findall(e)]


def test_expressions_read_only_what_exists_where_they_are_read(jobs: list[Job]) -> None:
    for job in jobs:
        workflow_call = load_yaml(WORKFLOWS / job.workflow)["on"].get("workflow_call") or {}
        matrix = (job.body.get("strategy") or {}).get("matrix") or {}
        earlier: set[str] = set()
        # A job's outputs are read when the job is done: any of its steps' ids may be named there.
        every_step = {str(step.body["id"]) for step in job.steps if "id" in step.body}
        for context, path in _references(job.body.get("outputs") or {}):
            assert context != "steps" or path.split(".")[0] in every_step, f"{job.name}: outputs read {path}"
        for step in [None, *job.steps]:
            body = job.body if step is None else step.body
            for context, path in _references(
                {k: v for k, v in body.items() if k not in {"steps", "outputs"}}
            ):
                head = path.split(".")[0]
                where = f"{job.workflow}:{job.name}: {context}.{path}"
                if context == "steps":
                    assert head in earlier, f"{where} reads a step that has not run yet"
                elif context == "matrix":
                    assert head in matrix, where
                elif context == "inputs":
                    assert head in (workflow_call.get("inputs") or {}), where
                elif context == "secrets" and workflow_call:
                    assert head in (workflow_call.get("secrets") or {}), f"{where} is not declared"
            if step is not None and "id" in step.body:
                earlier.add(str(step.body["id"]))


def _pulumi_jobs(jobs: list[Job]) -> list[Job]:
    return [job for job in jobs if any(step.runs(PULUMI_ACTION) for step in job.steps)]


def test_each_job_that_runs_pulumi_builds_the_wheel_and_the_policy_venv_first(jobs: list[Job]) -> None:
    """Jobs run on separate runners: what the program (dist/) and the pack (policy/venv) read is
    built in the job that runs Pulumi, before it runs."""
    pulumi_jobs = _pulumi_jobs(jobs)
    assert len(pulumi_jobs) == 3  # the pull request's and the release's previews, the deploy
    for job in pulumi_jobs:
        commands = [str(s.body.get("run", s.uses)) for s in job.steps]
        (pulumi_at,) = [i for i, s in enumerate(job.steps) if s.runs(PULUMI_ACTION)]
        assert "make wheel" in commands[:pulumi_at], f"{job.workflow}:{job.name}"
        if job.steps[pulumi_at].body["with"].get("policyPacks"):
            assert "make policy-venv" in commands[:pulumi_at], f"{job.workflow}:{job.name}"
