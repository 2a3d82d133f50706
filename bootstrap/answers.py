"""What `make bootstrap` asks, as one settings model: every answer validated as the stack files are.

Each field names the environment variable that answers it (an answer given there is never asked
for) and its question. An answer typed at the prompt that does not fit is asked again, with what is
expected; answers from the environment that do not fit are all reported at once, before any
``pulumi`` command runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from infra.bootstrap_interface import Guid
from stacks.types import GithubName, SubscriptionId, pattern_meaning

DEFAULT_BACKEND = "file://" + str(Path.home() / ".pulumi-mlops-bootstrap")
# A Pulumi stack name: letters, digits, `-`, `_`, `.` (pulumi/pulumi sdk/go/common/tokens, ValidateQName...).
STACK_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
TEAM_OR_USER_PATTERN = r"^(user:)?[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$"
BACKEND_PATTERN = r"^(file://|azblob://)\S+$"

Prompt = Callable[[str, str | None], str]


def _comma_separated(value: Any) -> Any:
    return (
        tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else value
    )


def _asked(variable: str, question: str) -> dict[str, Any]:
    return {"variable": variable, "question": question}


class Answers(BaseModel):
    """The bootstrap's answers, in the order they are asked."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    subscription: SubscriptionId = Field(
        json_schema_extra=_asked(
            "AZURE_SUBSCRIPTION_ID", "Azure subscription id (see `az account show --query id -o tsv`)"
        )
    )
    owner: GithubName = Field(
        json_schema_extra=_asked("GITHUB_OWNER", "GitHub organisation or user that owns the repository")
    )
    repository: GithubName = Field(
        json_schema_extra=_asked("GITHUB_REPOSITORY", "GitHub repository name (without the owner)")
    )
    release_managers: str = Field(
        pattern=TEAM_OR_USER_PATTERN,
        json_schema_extra=_asked(
            "RELEASE_MANAGERS",
            "Who may create release/* branches and push v* tags: a team slug, or user:<login> for a "
            "personal repository",
        ),
    )
    prod_reviewers: str = Field(
        pattern=TEAM_OR_USER_PATTERN,
        json_schema_extra=_asked(
            "PROD_REVIEWERS",
            "Who approves prod deployments: a team slug (not the release managers), or user:<login>",
        ),
    )
    code_owners: GithubName = Field(
        json_schema_extra=_asked(
            "CODE_OWNERS",
            "Team slug whose review changes to .github/, policy/, bootstrap/ and the identities need",
        ),
    )
    operators: Annotated[tuple[Guid, ...], BeforeValidator(_comma_separated)] = Field(
        min_length=1,
        json_schema_extra=_asked(
            "BOOTSTRAP_OPERATORS",
            "Entra object ids of who deploys by hand, comma-separated (a group is best; yours: "
            "`az ad signed-in-user show --query id -o tsv`)",
        ),
    )
    stack: str = Field(
        pattern=STACK_NAME_PATTERN,
        json_schema_extra=_asked(
            "BOOTSTRAP_STACK", "Bootstrap stack name (one per organisation or subscription)"
        ),
    )
    backend: str = Field(
        pattern=BACKEND_PATTERN,
        json_schema_extra=_asked(
            "BOOTSTRAP_BACKEND", "Where the bootstrap's own state lives (file://<directory>, or azblob://...)"
        ),
    )

    def actor(self, field: str) -> tuple[str, str]:
        """The GitHub actor an answer names: ``user:<login>`` -> (user, login), else (team, slug)."""
        answer = str(getattr(self, field))
        kind, _, name = answer.partition(":")
        return ("user", name) if kind == "user" and name else ("team", answer)


MEANINGS = {
    TEAM_OR_USER_PATTERN: "a team slug, or user:<login>",
    STACK_NAME_PATTERN: "a stack name: letters, digits, '-', '_' or '.'",
    BACKEND_PATTERN: "file://<directory> or azblob://<container>?storage_account=<account>",
}


def variable(name: str) -> str:
    return str(_extra(name)["variable"])


def question(name: str) -> str:
    return f"{_extra(name)['question']} [{variable(name)}]"


def _extra(name: str) -> dict[str, Any]:
    extra = Answers.model_fields[name].json_schema_extra
    assert isinstance(extra, dict)  # noqa: S101 - every field is declared with _asked
    return extra


class AnswersError(ValueError):
    """Answers from the environment that do not fit: one line each, nothing was run."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        lines = [
            "make bootstrap: these answers do not fit; nothing was run:",
            *(f"  - {p}" for p in problems),
        ]
        super().__init__("\n".join(lines))


def problem(name: str, value: Any, detail: ErrorDetails) -> str:
    """One answer's error as a line: the variable, what was given and what is expected."""
    if detail["type"] == "string_pattern_mismatch":
        pattern = str((detail.get("ctx") or {}).get("pattern", ""))
        expected = MEANINGS.get(pattern) or pattern_meaning(pattern)
        message = f"expected {expected}"
    elif detail["type"] in {"too_short", "missing"}:
        message = "required"
    else:
        message = detail["msg"]
    where = ".".join(str(part) for part in detail["loc"][1:])
    shown = f"{value!r}" + (f" (item {where})" if where else "")
    return f"{variable(name)} = {shown}: {message}"


def _checked(name: str, value: str) -> str | None:
    """Why ``value`` does not fit the field ``name``, or None (the other fields' errors are ignored)."""
    try:
        Answers.model_validate({name: value})
    except ValidationError as error:
        own = [detail for detail in error.errors() if detail["loc"][:1] == (name,)]
        return "; ".join(problem(name, value, detail) for detail in own) or None
    return None


def ask(environ: Mapping[str, str], prompt: Prompt, warn: Callable[[str], None] = print) -> Answers:
    """Every answer, from the environment when set, else from ``prompt`` (question, default) until it
    fits; raise AnswersError naming every answer from the environment that does not fit. EOFError
    (no more input) propagates: the caller says so."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for name in Answers.model_fields:
        given = environ.get(variable(name), "").strip()
        if given:
            values[name] = given
            wrong = _checked(name, given)
            if wrong:
                problems.append(wrong)
            continue
        default = {"stack": values.get("owner"), "backend": DEFAULT_BACKEND}.get(name)
        while True:
            answer = prompt(question(name), default).strip()
            wrong = _checked(name, answer)
            if wrong is None:
                values[name] = answer
                break
            warn(wrong)
    if problems:
        raise AnswersError(problems)
    return Answers.model_validate(values)
