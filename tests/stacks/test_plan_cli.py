"""``python -m stacks.plan``: JSON contract, critical path, and bad config as exit code 2."""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from core.environment import Environment
from stacks.console import cli_console
from stacks.offline import OfflineRun
from stacks.plan import EXIT_BAD_CONFIG, main, plan_json, print_comparison, settings_differences
from stacks.plan_view import critical_path, print_notes, render_tree

ROOT = Path(__file__).resolve().parents[2]


def test_plan_json_follows_the_contract(plans: dict[Environment, OfflineRun]) -> None:
    document = json.loads(json.dumps(plan_json(plans[Environment.DEV])))
    assert document["stack"] == "dev"
    for resource in document["resources"]:
        assert set(resource) - {"aliases"} == {
            "urn",
            "type",
            "name",
            "parent",
            "protect",
            "dependencies",
            "inputs",
            "options",
        }
        assert resource.get("aliases", ["a former URN"]), "an empty aliases list is left out"
    assert any("aliases" in resource for resource in document["resources"]), "Iris's moved state"


def test_critical_path_is_a_real_dependency_chain(plans: dict[Environment, OfflineRun]) -> None:
    path = critical_path(plans[Environment.PROD].resources)
    assert len(path) >= 4
    assert path[0].type == "azure-native:resources:ResourceGroup"
    for earlier, later in itertools.pairwise(path):
        assert earlier.urn in later.dependencies


def test_bad_config_exits_2_with_the_one_error_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  mlops-platform:github:\n    owner: acme\n    repository: mlops\n"
        "  mlops-platform:monitoring:\n    retentionDays: 3\n",
        encoding="utf-8",
    )
    assert main(["--stack", "dev"], root=tmp_path) == EXIT_BAD_CONFIG
    err = capsys.readouterr().err
    assert "dev: mlops-platform:monitoring.retentionDays = 3" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("text", "where"),
    [
        # an unclosed flow sequence: the parser notices on the next line
        ("config:\n  mlops-platform:github:\n    owner: [acme\n    repository: mlops\n", "line 4"),
        ("config:\n  mlops-platform:github:\n\towner: acme\n", "line 3"),  # a tab indent
    ],
)
def test_broken_stack_file_names_the_file_and_line_not_the_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str
) -> None:
    # Defect: a YAML syntax error crashed the plan with a parser traceback naming "<unicode string>".
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.dev.yaml").write_text(text, encoding="utf-8")
    assert main(["--stack", "dev"], root=tmp_path) == EXIT_BAD_CONFIG
    err = capsys.readouterr().err
    assert f"Pulumi.dev.yaml: invalid YAML at {where}" in err
    assert "<unicode string>" not in err
    assert "Traceback" not in err


def test_plan_shows_both_first_deploy_states(capsys: pytest.CaptureFixture[str]) -> None:
    """Brand new: no endpoint, no monitor. After training (--champion 3): both, on version 3."""
    assert main(["--stack", "uat", "--json"]) == 0
    brand_new = json.loads(capsys.readouterr().out)
    assert main(["--stack", "uat", "--json", "--champion", "3"]) == 0
    trained = json.loads(capsys.readouterr().out)
    kinds = ("databricks:index/modelServing:ModelServing", "databricks:index/qualityMonitor:QualityMonitor")
    assert [r for r in brand_new["resources"] if r["type"] in kinds] == []
    endpoints = [r for r in trained["resources"] if r["type"] == kinds[0]]
    assert [e["inputs"]["config"]["servedEntities"][0]["entityVersion"] for e in endpoints] == ["3", "3"]
    assert len([r for r in trained["resources"] if r["type"] == kinds[1]]) == 2  # one per project


def test_without_a_terminal_the_comparison_shows_every_value_whole(
    plans: dict[Environment, OfflineRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI log is no terminal: rich used to draw 80 columns and print `sandb…` for values."""
    monkeypatch.delenv("COLUMNS", raising=False)
    buffer = io.StringIO()
    console = cli_console(file=buffer)
    assert not console.is_terminal
    print_comparison(console, plans)
    text = buffer.getvalue()
    assert "…" not in text
    differences = settings_differences()
    assert "platform.subscriptionId" in differences
    for key, per_env in differences.items():
        assert key in text
        for value in per_env.values():
            assert json.dumps(value) in text, f"{key}: {value!r} is not shown whole"


def test_a_narrow_console_folds_long_cells_instead_of_cutting_them(
    plans: dict[Environment, OfflineRun],
) -> None:
    buffer = io.StringIO()
    print_comparison(Console(file=buffer, width=80), plans)
    assert "…" not in buffer.getvalue()


def test_the_resource_tree_prints_the_same_whatever_the_registration_order(
    plans: dict[Environment, OfflineRun],
) -> None:
    """The engine registers resources as their inputs resolve: two plans must still diff cleanly."""
    run = plans[Environment.DEV]
    printed = []
    for resources in (run.resources, list(reversed(run.resources))):
        console = Console(record=True, width=200)
        console.print(render_tree(dataclasses.replace(run, resources=resources)))
        printed.append(console.export_text())
    assert printed[0] == printed[1]
    assert "databricks-diabetes" in printed[0].split("databricks-iris")[0], "siblings by name"


def _notes(run: OfflineRun) -> str:
    console = Console(record=True, width=300)
    print_notes(console, run)
    return console.export_text()


def test_the_plan_says_why_an_endpoint_or_monitor_waits_and_how_to_plan_past_it(
    plans: dict[Environment, OfflineRun], trained_plans: dict[Environment, OfflineRun]
) -> None:
    """`make plan STACK=uat` on a brand-new environment shows no endpoint and no monitor: it says
    why (the program's own messages, as `pulumi preview` prints them) and how to see them."""
    fresh = _notes(plans[Environment.UAT])
    assert "iris: serving endpoint mlops-uat-iris-classifier waits for a first training run" in fresh
    assert "iris: the quality monitor waits for mlops_uat.iris.iris_predictions" in fresh
    assert "make plan STACK=uat CHAMPION=1" in fresh
    assert "waits for" not in _notes(trained_plans[Environment.UAT])
