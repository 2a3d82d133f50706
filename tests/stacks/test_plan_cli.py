"""``python -m stacks.plan``: JSON contract, critical path, and bad config as exit code 2."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import pytest

from stacks.environment import Environment
from stacks.offline import OfflineRun
from stacks.plan import EXIT_BAD_CONFIG, critical_path, main, plan_json

ROOT = Path(__file__).resolve().parents[2]


def test_plan_json_follows_the_contract(plans: dict[Environment, OfflineRun]) -> None:
    document = json.loads(json.dumps(plan_json(plans[Environment.DEV])))
    assert document["stack"] == "dev"
    for resource in document["resources"]:
        assert set(resource) == {
            "urn",
            "type",
            "name",
            "parent",
            "protect",
            "dependencies",
            "inputs",
            "options",
        }


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
