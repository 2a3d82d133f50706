"""The declared interface: bootstrap outputs reach the environment stack files, or an error names the key."""

from __future__ import annotations

import json
import shutil
import subprocess
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from bootstrap_support import ANSWERS

from bootstrap import cli, handoff
from bootstrap.codeowners import CODEOWNERS
from core.environment import Environment
from infra.bootstrap_interface import interface_keys
from stacks.offline import OfflineRun

ROOT = Path(__file__).resolve().parents[2]
# Not the committed stack files' values, so the handoff has something to change.
PREVIEW_PRINCIPAL = "00000000-0000-4000-8000-0000000000e3"
PREVIEW_CLIENT = "00000000-0000-4000-8000-0000000000e4"
DEPLOYER_PRINCIPAL = "00000000-0000-4000-8000-0000000000d9"
DEPLOYER_CLIENT = "00000000-0000-4000-8000-0000000000f9"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for env in Environment:
        shutil.copy(ROOT / f"Pulumi.{env}.yaml", tmp_path)
    shutil.copytree(ROOT / ".github" / "workflows", tmp_path / ".github" / "workflows")
    shutil.copy(ROOT / CODEOWNERS, tmp_path / CODEOWNERS)
    return tmp_path


def _backend(env: str) -> str:
    return f"azblob://pulumi-state-{env}?storage_account=st"


def _key(env: str) -> str:
    return f"azurekeyvault://kv.vault.azure.net/keys/stack-{env}"


def _outputs(**overrides: Any) -> dict[str, Any]:
    """The bootstrap's outputs; an override replaces one interface key in every environment."""
    per_environment = {
        env.value: {
            "previewPrincipalId": PREVIEW_PRINCIPAL,
            "previewClientId": PREVIEW_CLIENT,
            "deployerPrincipalId": DEPLOYER_PRINCIPAL,
            "deployerClientId": DEPLOYER_CLIENT,
            "backendUrl": _backend(env),
            **overrides,
        }
        for env in Environment
    }
    return {
        "environments": {
            env: {k: v for k, v in values.items() if v is not None} for env, values in per_environment.items()
        },
        "secretsProviders": {env.value: _key(env) for env in Environment},
        "codeOwners": "@contoso/platform-owners",
        "githubRepository": "contoso/mlops-platform",
    }


def _section(root: Path, env: Environment) -> Any:
    return yaml.safe_load((root / f"Pulumi.{env}.yaml").read_text(encoding="utf-8"))["config"].get(
        handoff.SECTION
    )


def test_the_bootstrap_plan_exports_what_the_handoff_needs(bootstrap_run: OfflineRun, root: Path) -> None:
    """Fed the offline bootstrap plan's own exports, the handoff finds every interface key; each
    environment gets its own container, and uat/prod another preview identity than sandbox/dev."""
    exports = bootstrap_run.exports
    for env in Environment:
        values = handoff.interface_values(exports, env).model_dump(by_alias=True)
        assert values == {key: exports["environments"][env][key] for key in interface_keys()}
        assert f"pulumi-state-{env}?" in values["backendUrl"]
        assert handoff.secrets_provider(exports, env).endswith(f".vault.azure.net/keys/stack-{env}")
    previews = {env: exports["environments"][env]["previewPrincipalId"] for env in Environment}
    assert previews["sandbox"] == previews["dev"] != previews["uat"] == previews["prod"]


def test_handoff_writes_the_interface_into_every_environment_keeping_comments(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (root / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    assert handoff.main([], root=root, stdin=StringIO(json.dumps(_outputs()))) == 0
    for env in Environment:
        assert _section(root, env) == {
            "previewPrincipalId": PREVIEW_PRINCIPAL,
            "previewClientId": PREVIEW_CLIENT,
            "deployerPrincipalId": DEPLOYER_PRINCIPAL,
            "deployerClientId": DEPLOYER_CLIENT,
            "backendUrl": _backend(env),
        }
    after = (root / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments
    assert all(line in after.splitlines() for line in comments)
    out = capsys.readouterr().out
    assert f"+    previewPrincipalId: {PREVIEW_PRINCIPAL}" in out
    # Each stack file names its own key, as `pulumi stack init --secrets-provider` would: CI's first
    # deploy creates the stack with it; nothing is left for a person to type.
    for env in Environment:
        document = yaml.safe_load((root / f"Pulumi.{env}.yaml").read_text(encoding="utf-8"))
        assert document["secretsprovider"] == _key(env)
    assert f"+secretsprovider: {_key('dev')}" in out
    assert "pulumi stack init" not in out
    assert "/policy/ @contoso/platform-owners" in (root / CODEOWNERS).read_text(encoding="utf-8")
    # Calls of main's reusable workflows name this repository: GitHub allows no expression there.
    deploy = (root / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8")
    assert deploy.count("uses: contoso/mlops-platform/.github/workflows/pulumi-up.yml@main") == 2
    assert "example-org" not in deploy
    # Running it again changes nothing.
    assert handoff.main([], root=root, stdin=StringIO(json.dumps(_outputs()))) == 0
    assert (root / "Pulumi.prod.yaml").read_text(encoding="utf-8") == after


def test_handoff_creates_the_section_with_its_comment_where_it_is_missing(tmp_path: Path) -> None:
    for env in Environment:
        (tmp_path / f"Pulumi.{env}.yaml").write_text("config:\n  azure-native:location: westeurope\n")
    [sandbox, *_, codeowners] = handoff.plan_handoff(_outputs(), tmp_path)  # no workflows here
    assert sandbox.after == (
        f"secretsprovider: {_key('sandbox')}\n"
        "config:\n"
        "  azure-native:location: westeurope\n"
        f"  # {handoff.SECTION_COMMENT}\n"
        "  mlops-platform:bootstrap:\n"
        f"    previewPrincipalId: {PREVIEW_PRINCIPAL}\n"
        f"    previewClientId: {PREVIEW_CLIENT}\n"
        f"    deployerPrincipalId: {DEPLOYER_PRINCIPAL}\n"
        f"    deployerClientId: {DEPLOYER_CLIENT}\n"
        f"    backendUrl: {_backend('sandbox')}\n"
    )
    assert (codeowners.before, codeowners.path.name) == ("", "CODEOWNERS")


@pytest.mark.parametrize("missing", interface_keys())
def test_a_missing_bootstrap_output_is_a_clean_error_naming_the_key(
    root: Path, missing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {env: (root / f"Pulumi.{env}.yaml").read_text(encoding="utf-8") for env in Environment}
    code = handoff.main([], root=root, stdin=StringIO(json.dumps(_outputs(**{missing: None}))))
    assert code == handoff.EXIT_MISSING_OUTPUT
    err = capsys.readouterr().err
    assert f"the bootstrap stack has no output 'environments.sandbox.{missing}'" in err
    assert "Traceback" not in err
    assert before == {env: (root / f"Pulumi.{env}.yaml").read_text(encoding="utf-8") for env in Environment}


def test_an_output_that_is_not_a_guid_is_refused(root: Path) -> None:
    with pytest.raises(handoff.HandoffError, match="previewClientId"):
        handoff.plan_handoff(_outputs(previewClientId="nope"), root)


def test_make_bootstrap_refuses_to_start_without_a_github_token(capsys: pytest.CaptureFixture[str]) -> None:
    def never(command: list[str], env: Any, capture: bool) -> str:
        raise AssertionError(f"ran {command}")

    assert cli.main(environ={}, run=never, on_path=lambda tool: True, interactive=True) == cli.EXIT_NOT_READY
    assert "GITHUB_TOKEN is not set" in capsys.readouterr().err


def test_make_bootstrap_runs_pulumi_up_in_bootstrap_and_hands_the_outputs_on(
    root: Path, tmp_path: Path
) -> None:
    environ = {
        **{k: v for k, v in ANSWERS.items() if k != "BOOTSTRAP_STACK"},
        "GITHUB_TOKEN": "offline",
        "BOOTSTRAP_OPERATORS": "00000000-0000-4000-8000-0000000000c1, 00000000-0000-4000-8000-0000000000c2",
        "BOOTSTRAP_BACKEND": f"file://{tmp_path / 'state'}",
    }
    answers = cli.ask(environ, lambda question, default: default or pytest.fail(f"asked {question}"))
    assert answers.stack == "contoso"  # defaults to the owner when BOOTSTRAP_STACK is unset
    ran: list[tuple[list[str], str]] = []

    def fake(command: list[str], env: Any, capture: bool) -> str:
        assert env["GITHUB_REPOSITORY"] == "contoso/mlops-platform"  # what the policy pack checks against
        ran.append((command, env["PULUMI_BACKEND_URL"]))
        return json.dumps(_outputs()) if command[:3] == ["pulumi", "stack", "output"] else ""

    assert cli.run_bootstrap(environ, answers, fake, cli.Console(), root=root) == 0
    commands = [" ".join(command) for command, _ in ran]
    assert commands[0] == "pulumi stack select --create contoso --secrets-provider passphrase"
    assert "pulumi config set --path mlops-bootstrap:github.releaseManagers[0].type user" in commands
    assert "pulumi config set --path mlops-bootstrap:github.releaseManagers[0].name octocat" in commands
    assert "pulumi config set --path mlops-bootstrap:github.prodReviewers[0].type team" in commands
    assert "pulumi config set --path mlops-bootstrap:github.codeOwners mlops-platform-owners" in commands
    assert (
        "pulumi config set --path mlops-bootstrap:operators[1] 00000000-0000-4000-8000-0000000000c2"
        in commands
    )
    assert commands[-6:-4] == [
        f"pulumi up --stack contoso --policy-pack {cli.ROOT / 'policy'}",
        "pulumi stack output --json --stack contoso",
    ]
    # Then each environment's stack, in its own container with its own key, before the pull
    # request whose previews read them (bootstrap/environment_stacks.py).
    assert ran[-4:] == [
        (
            ["pulumi", "stack", "select", env.value, "--create", "--secrets-provider", _key(env),
             "--non-interactive", "--cwd", str(root)],
            _backend(env),
        )
        for env in Environment
    ]  # fmt: skip
    assert (cli.ROOT / "policy" / "PulumiPolicy.yaml").is_file()
    assert {backend for _, backend in ran[:-4]} == {environ["BOOTSTRAP_BACKEND"]}
    assert (tmp_path / "state").is_dir()  # a file:// backend must exist before Pulumi opens it
    assert _section(root, Environment.DEV)["previewClientId"] == PREVIEW_CLIENT


def test_prompts_ask_for_what_the_environment_does_not_give() -> None:
    asked: list[str] = []
    typed = {
        "AZURE_SUBSCRIPTION_ID": "00000000-0000-4000-8000-000000000001",
        "GITHUB_REPOSITORY": "mlops-platform",
        "RELEASE_MANAGERS": "release-managers",
        "PROD_REVIEWERS": "prod-reviewers",
        "CODE_OWNERS": "platform-owners",
        "BOOTSTRAP_OPERATORS": "00000000-0000-4000-8000-0000000000c1",
    }

    def prompt(question: str, default: str | None) -> str:
        asked.append(question)
        return default or typed[question.rsplit("[", 1)[-1].rstrip("]")]

    answers = cli.ask({"GITHUB_OWNER": "contoso"}, prompt)
    assert [q.rsplit("[", 1)[-1].rstrip("]") for q in asked] == [
        "AZURE_SUBSCRIPTION_ID",
        "GITHUB_REPOSITORY",
        "RELEASE_MANAGERS",
        "PROD_REVIEWERS",
        "CODE_OWNERS",
        "BOOTSTRAP_OPERATORS",
        "BOOTSTRAP_STACK",
        "BOOTSTRAP_BACKEND",
    ]
    assert (answers.stack, answers.backend) == ("contoso", cli.DEFAULT_BACKEND)


def test_the_committed_codeowners_and_workflow_calls_are_what_the_example_bootstrap_writes(
    bootstrap_run: OfflineRun,
) -> None:
    """The repository as committed is what `make bootstrap` writes for the example organisation."""
    untouched = [
        h for h in handoff.plan_handoff(bootstrap_run.exports, ROOT) if h.path.parent.name != ROOT.name
    ]
    assert untouched, "the handoff writes CODEOWNERS and the workflows"
    assert [h.path.name for h in untouched if h.after != h.before] == []


def test_a_stack_file_naming_another_key_stops_the_handoff_before_anything_is_written(root: Path) -> None:
    """Its encryptedkey and state were written with that provider: the handoff does not swap it."""
    path = root / "Pulumi.uat.yaml"
    path.write_text("secretsprovider: passphrase\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    before = {p.name: p.read_text(encoding="utf-8") for p in root.glob("Pulumi.*.yaml")}
    assert handoff.main([], root=root, stdin=StringIO(json.dumps(_outputs()))) == handoff.EXIT_MISSING_OUTPUT
    assert {p.name: p.read_text(encoding="utf-8") for p in root.glob("Pulumi.*.yaml")} == before


def test_without_the_keys_output_the_handoff_names_it(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = {k: v for k, v in _outputs().items() if k != "secretsProviders"}
    assert handoff.main([], root=root, stdin=StringIO(json.dumps(outputs))) == handoff.EXIT_MISSING_OUTPUT
    assert "'secretsProviders.sandbox'" in capsys.readouterr().err


def test_a_refused_stack_creation_says_to_run_make_bootstrap_again(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator's data-plane roles may not have reached Azure's data plane yet: the run stops at
    the first refused creation, saying what to do, and the stacks after it are not tried."""
    environ = {**ANSWERS, "GITHUB_TOKEN": "offline", "BOOTSTRAP_BACKEND": f"file://{tmp_path / 'state'}"}
    answers = cli.ask(environ, lambda question, default: default or pytest.fail(f"asked {question}"))
    ran: list[list[str]] = []

    def refused(command: list[str], env: Any, capture: bool) -> str:
        ran.append(command)
        if command[:3] == ["pulumi", "stack", "output"]:
            return json.dumps(_outputs())
        if "--cwd" in command:
            raise subprocess.CalledProcessError(255, command)
        return ""

    with pytest.raises(subprocess.CalledProcessError):
        cli.run_bootstrap(environ, answers, refused, cli.Console(), root=root)
    assert [c[3] for c in ran if "--cwd" in c] == ["sandbox"]
    assert "run `make bootstrap` again in a few minutes" in capsys.readouterr().err
