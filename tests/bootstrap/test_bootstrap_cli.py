"""`make bootstrap` before any `pulumi` command: every missing prerequisite at once, every answer
checked as the stack settings are, end of input without a traceback, and the passphrase said."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from bootstrap_support import ANSWERS

from bootstrap import cli, github_token
from bootstrap.answers import AnswersError, ask

GOOD = ANSWERS


def never(command: list[str], env: Mapping[str, str], capture: bool) -> str:
    raise AssertionError(f"ran {command}")


def test_every_missing_prerequisite_is_named_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(environ={}, run=never, on_path=lambda tool: False, interactive=False)
    assert code == cli.EXIT_NOT_READY
    err = " ".join(capsys.readouterr().err.split())
    assert "make bootstrap cannot start; nothing was run" in err
    for expected in ("GITHUB_TOKEN is not set", "`pulumi` is not on PATH", "`az` is not on PATH"):
        assert expected in err
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" in err  # no terminal to type it on
    for line in github_token.lines():  # the one list of the token's permissions
        assert line in err


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("AZURE_SUBSCRIPTION_ID", "not-a-guid", "expected a GUID like 00000000-0000-0000-0000-000000000000"),
        ("GITHUB_OWNER", "-", "expected a GitHub name"),
        ("RELEASE_MANAGERS", "team slug", "expected a team slug, or user:<login>"),
        ("PROD_REVIEWERS", "team slug", "expected a team slug, or user:<login>"),
        ("BOOTSTRAP_OPERATORS", "me, 00000000-0000-4000-8000-0000000000c1", "expected a GUID"),
        ("BOOTSTRAP_BACKEND", "s3://bucket", "expected file://<directory> or azblob://"),
    ],
)
def test_an_answer_from_the_environment_that_does_not_fit_stops_before_pulumi(
    variable: str, value: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {**GOOD, "GITHUB_TOKEN": "offline", variable: value}
    code = cli.main(environ=environ, run=never, on_path=lambda tool: True, interactive=True)
    assert code == cli.EXIT_NOT_READY
    err = " ".join(capsys.readouterr().err.split())
    assert f"{variable} = {value!r}" in err
    assert expected in err


def test_every_bad_answer_from_the_environment_is_named_at_once() -> None:
    with pytest.raises(AnswersError) as error:
        ask({**GOOD, "AZURE_SUBSCRIPTION_ID": "x", "GITHUB_REPOSITORY": "a b"}, lambda q, d: pytest.fail(q))
    assert [problem.split(" = ")[0] for problem in error.value.problems] == [
        "AZURE_SUBSCRIPTION_ID",
        "GITHUB_REPOSITORY",
    ]


def test_a_typed_answer_that_does_not_fit_is_asked_again_with_what_is_expected() -> None:
    answers: Iterator[str] = iter(["", "not-a-guid", GOOD["AZURE_SUBSCRIPTION_ID"]])
    warnings: list[str] = []
    environ = {k: v for k, v in GOOD.items() if k != "AZURE_SUBSCRIPTION_ID"}
    result = ask(environ, lambda question, default: next(answers), warnings.append)
    assert result.subscription == GOOD["AZURE_SUBSCRIPTION_ID"]
    assert len(warnings) == 2
    assert all("expected a GUID like" in warning for warning in warnings)


def test_end_of_input_at_a_prompt_stops_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def closed(question: str, default: str | None) -> str:
        raise EOFError

    environ = {"GITHUB_TOKEN": "offline"}
    code = cli.main(environ=environ, run=never, prompt=closed, on_path=lambda tool: True, interactive=True)
    assert code == cli.EXIT_NOT_READY
    err = capsys.readouterr().err
    assert "input ended before every answer was given; nothing was run" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        ({}, "Pulumi asks for it below"),
        ({"PULUMI_CONFIG_PASSPHRASE_FILE": "/secrets/bootstrap"}, "from PULUMI_CONFIG_PASSPHRASE_FILE"),
    ],
)
def test_how_the_passphrase_is_given_is_said_before_the_first_pulumi_command(
    environ: dict[str, str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[str] = []

    def stop_at_first(command: list[str], env: Any, capture: bool) -> str:
        ran.append(" ".join(command))
        raise cli.subprocess.CalledProcessError(1, command)

    full = {**GOOD, **environ, "GITHUB_TOKEN": "offline"}
    assert cli.main(environ=full, run=stop_at_first, on_path=lambda tool: True, interactive=True) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert said in out
    assert out.index(said) < out.index("$ pulumi stack select")
    assert len(ran) == 1


def test_the_docs_show_the_one_list_of_the_tokens_permissions() -> None:
    """docs/bootstrap.md holds the list bootstrap/github_token.py renders; the README and docs/ci.md
    link to it instead of keeping their own."""
    docs = github_token.DOCS.read_text(encoding="utf-8")
    stale = (
        "docs/bootstrap.md's token permissions are stale: `.venv/bin/python -m bootstrap.github_token --docs`"
    )
    assert github_token.docs_section(docs) == github_token.markdown(), stale
    root = github_token.DOCS.parent.parent
    for linking in (root / "README.md", root / "docs" / "ci.md"):
        text = linking.read_text(encoding="utf-8")
        assert "bootstrap.md#the-github-token" in text, linking.name
        assert "*Administration: read/write*" not in text
        assert "Administration, Environments" not in text
