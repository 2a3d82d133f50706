"""The docs' promises, run: the offline shell blocks of README.md and docs/*.md in a fresh clone, in
order (doc_blocks.py, started in the background by conftest.py), and every number the README quotes
about `make demo` against what the demo printed (the background demo run of test_demo.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from demo_support import DemoRuns, DocsRuns
from doc_blocks import ROOT, MarkerError, offline_blocks

README = ROOT / "README.md"


def test_every_offline_marker_marks_a_shell_block_of_commands() -> None:
    blocks = offline_blocks()
    assert any(block.file == "README.md" for block in blocks)
    for block in blocks:
        assert block.commands, f"{block.label} marks an empty block"


def test_a_marker_without_its_block_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("<!-- offline: lost -->\nmake demo\n", encoding="utf-8")
    with pytest.raises(MarkerError, match=r"README.md:1: .* is not followed by a ```sh block"):
        offline_blocks(tmp_path)


@pytest.mark.e2e
def test_every_offline_command_of_the_docs_runs_in_a_fresh_clone(docs_runs: DocsRuns) -> None:
    results = docs_runs.wait()
    expected = [step["command"] for step in docs_runs.steps]
    ran = [result["command"] for result in results]
    for result in results:
        failed = f"{result['label']}: `{result['command']}` exited {result['returncode']}"
        if "detect-secrets" in result["command"]:  # lines moved under a reviewed false positive
            failed += (
                "; if only line numbers moved: `.venv/bin/pre-commit run detect-secrets --all-files`, commit"
            )
        assert result["returncode"] == 0, f"{failed}:\n{result['output'][-3000:]}"
    assert ran == expected, "the run stopped early"


def _output(docs_runs: DocsRuns, fragment: str, but_not: str = "\0") -> str:
    """What the step whose command contains ``fragment`` (and not ``but_not``) printed, whitespace
    folded."""
    for result in docs_runs.wait():
        if fragment in result["command"] and but_not not in result["command"]:
            return " ".join(result["output"].split())
    raise AssertionError(f"no step ran {fragment!r}")


@pytest.mark.e2e
def test_the_readmes_add_a_project_sequence_gives_what_its_comments_promise(docs_runs: DocsRuns) -> None:
    [block] = [b for b in offline_blocks() if b.name == "add-project"]
    wheel = next(c.text for c in block.commands if c.text.startswith("make wheel"))
    promised = wheel.split("#", 1)[1].strip()  # the wheel's path, as the README's comment names it
    assert promised in _output(docs_runs, "make wheel")
    assert re.search(r"\d+ passed", _output(docs_runs, "pytest -q ml/projects/"))
    # The printed entry pastes into the committed stack files' list, without a second list key.
    printed = _output(docs_runs, "make new-project")
    assert "- name: churn path: ml/projects/churn primaryMetric: f1_macro" in printed
    assert "mlops-platform:projects: -" not in printed


@pytest.mark.e2e
def test_a_removed_projects_console_scripts_leave_the_venv(docs_runs: DocsRuns) -> None:
    assert "churn-train" not in _output(docs_runs, "ls .venv/bin")


@pytest.mark.e2e
def test_the_readmes_numbers_about_make_demo_are_what_it_printed(demo_runs: DemoRuns) -> None:
    code, output = demo_runs.wait()
    assert code == 0, output[-3000:]
    readme = README.read_text(encoding="utf-8")
    section = readme.split("`make demo` runs ", 1)[1].split("\n\n", 2)
    stages = int(section[0].split()[0])
    listed = re.findall(r"^(\d+)\. ", section[1], re.MULTILINE)
    first_run = output.split("summary: where things are", 1)[0]  # the rerun shows two stages
    printed = {int(total) for total in re.findall(r"─ \d+/(\d+) ", first_run)}  # each stage's rule
    assert printed == {stages}, f"README says {stages} stages, make demo printed {printed}"
    assert listed == [str(n) for n in range(1, stages + 1)], "the README's numbered list of stages"
    quoted = re.search(r"\((sandbox \d+, dev \d+, uat \d+, prod \d+) resources", readme)
    assert quoted, "the README quotes the resources per stack"
    assert f"planned 4 stacks offline: {quoted[1]} resources" in output


@pytest.mark.e2e
def test_the_policy_check_example_passes_on_the_committed_stack_files_and_says_so(
    docs_runs: DocsRuns,
) -> None:
    assert _output(docs_runs, "policy.check_plan").endswith("dev: no violation of the policy pack")


@pytest.mark.e2e
def test_make_promote_shows_the_diff_and_writes_nothing_by_default(docs_runs: DocsRuns) -> None:
    assert "dry run: Pulumi.prod.yaml not written" in _output(docs_runs, "make promote")


@pytest.mark.e2e
def test_make_plan_with_a_champion_plans_the_endpoints(docs_runs: DocsRuns) -> None:
    # Without CHAMPION the plan says why they wait (tests/stacks/test_plan_cli.py, print_notes).
    trained = _output(docs_runs, "make plan STACK=dev CHAMPION=1")
    assert "waits for" not in trained
    assert "databricks-iris-serving" in trained  # the endpoint is in the plan
