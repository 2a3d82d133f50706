"""The stack-file mistakes that used to plan green while something was lost: each is refused before
anything is registered, naming the file, the key and what is wrong (issue: a first user's path)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stacks.loading import load_settings
from stacks.new_project import NewProject, load_kind, stack_entry
from stacks.offline import run_offline, stack_config_from_file
from stacks.plan import EXIT_BAD_CONFIG, PROJECT, main
from stacks.stack_file import StackFileError, read_stack_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The committed stack files in a folder of their own, to spoil one."""
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _plan_dev(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--stack", "dev"], root=root) == EXIT_BAD_CONFIG
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err


def _line_of(text: str, fragment: str, occurrence: int) -> int:
    lines = [number for number, line in enumerate(text.splitlines(), 1) if fragment in line]
    return lines[occurrence]


def test_a_pasted_second_projects_key_is_refused_naming_file_line_and_key(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a user did with the entry `make new-project` printed (with its header, as it once was):
    # pasted at the end of the file. The CLI would keep the last list: dev without Iris and diabetes.
    stack_file = root / "Pulumi.dev.yaml"
    pasted = f"  {PROJECT}:projects:\n{stack_entry(NewProject('churn', load_kind('regression', ROOT)))}"
    stack_file.write_text(stack_file.read_text(encoding="utf-8") + pasted, encoding="utf-8")
    text = stack_file.read_text(encoding="utf-8")
    first, again = _line_of(text, f"{PROJECT}:projects:", 0), _line_of(text, f"{PROJECT}:projects:", 1)
    error = _plan_dev(root, capsys)
    assert error.startswith("Pulumi.dev.yaml: 1 repeated key(s)")
    assert f"line {again}: `config.{PROJECT}:projects` again (first at line {first})" in error


def test_a_repeated_key_at_any_depth_is_refused_all_at_once(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(
        "config:\n"
        "  mlops-platform:projects:\n"
        "    - name: iris\n"
        "      path: ml\n"
        "      path: ml/projects/iris\n"
        "  mlops-platform:github:\n"
        "    owner: acme\n"
        "    owner: other\n",
        encoding="utf-8",
    )
    with pytest.raises(StackFileError) as error:
        read_stack_file(path)
    assert str(error.value).splitlines()[1:] == [
        f"  - line 5: `config.{PROJECT}:projects[0].path` again (first at line 4)",
        f"  - line 8: `config.{PROJECT}:github.owner` again (first at line 7)",
    ]


def test_the_program_itself_refuses_a_repeated_key_under_the_real_cli(root: Path) -> None:
    """`pulumi up` hands the program the merged config only (the last key won): the program reads
    the stack file itself, so the real CLI path refuses what the offline plan refuses."""
    stack_file = root / "Pulumi.dev.yaml"
    config, secret_keys = stack_config_from_file(stack_file, PROJECT)  # as the CLI merged it
    stack_file.write_text(
        stack_file.read_text(encoding="utf-8") + f"  {PROJECT}:github:\n    owner: acme\n", encoding="utf-8"
    )
    with pytest.raises(StackFileError, match=r"`config\.mlops-platform:github` again"):
        run_offline(
            lambda: load_settings(root) and None,
            project=PROJECT,
            stack="dev",
            config=config,
            secret_keys=secret_keys,
        )


def test_a_misspelled_namespace_is_refused_with_did_you_mean(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The alert e-mails were dropped without a word: the program reads only its own namespace.
    stack_file = root / "Pulumi.dev.yaml"
    text = stack_file.read_text(encoding="utf-8")
    stack_file.write_text(
        text.replace(f"{PROJECT}:monitoring:", "mlops-platfrom:monitoring:"), encoding="utf-8"
    )
    error = _plan_dev(root, capsys)
    assert (
        "dev: mlops-platfrom:monitoring = ...: unknown namespace 'mlops-platfrom' "
        "(did you mean 'mlops-platform:'?); allowed: mlops-platform, azure-native, databricks, pulumi"
    ) in error


@pytest.mark.parametrize(
    ("path", "missing"),
    [
        (
            "ml/projects/diabetis",
            "no folder ml/projects/diabetis/ in this repository (did you mean 'ml/projects/diabetes'?)",
        ),
        ("ml", "ml/ has no pyproject.toml"),  # Iris's folder before it moved to ml/projects/iris
    ],
)
def test_a_project_path_that_is_not_a_project_folder_is_refused_naming_what_is_missing(
    root: Path, capsys: pytest.CaptureFixture[str], path: str, missing: str
) -> None:
    stack_file = root / "Pulumi.dev.yaml"
    text = stack_file.read_text(encoding="utf-8")
    stack_file.write_text(text.replace("path: ml/projects/diabetes", f"path: {path}"), encoding="utf-8")
    error = _plan_dev(root, capsys)
    assert f'dev: {PROJECT}:projects[diabetes].path = "{path}": not a project folder: {missing}' in error
    listed = error.split("project folders: ", 1)[1].splitlines()[0].split(", ")
    # Every folder with a pyproject.toml, sorted: the committed projects, and any a user added.
    assert {"ml/projects/diabetes", "ml/projects/iris"} <= set(listed)
    assert listed == sorted(listed)
