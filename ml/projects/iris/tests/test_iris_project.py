"""The Iris project on the framework: its jobs are its own console scripts, its data is the bundled
Iris set keyed by flower, and a bad parameter stops its task. (The framework's own tests, tests/ml,
run every step, the gate, serving and monitoring on this project.)"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from mlops_framework.job_graph import load_job_graph

from iris_mlops.project import PROJECT, SCRIPTS

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
GRAPH = load_job_graph(PROJECT.package)


def test_every_task_runs_one_of_this_wheels_own_entry_points() -> None:
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["scripts"]
    assert GRAPH.package_name == PROJECT.package
    for job in GRAPH.jobs.values():
        for task in job.tasks:
            assert task.entry_point.startswith(f"{PROJECT.name}-"), task
            task_name = PROJECT.task_of(task.entry_point).replace("-", "_")
            assert scripts[task.entry_point] == f"iris_mlops.project:SCRIPTS.{task_name}"
    assert scripts[PROJECT.cli] == "iris_mlops.project:SCRIPTS.cli"


def test_the_data_is_the_bundled_iris_set_one_row_per_flower() -> None:
    frame = PROJECT.load_frame()
    assert len(frame) == 150
    assert frame[PROJECT.key_column].is_unique
    assert set(frame[PROJECT.label_column]) == {"setosa", "versicolor", "virginica"}
    assert list(PROJECT.features_of(frame).columns) == list(PROJECT.feature_columns)


def test_a_bad_parameter_exits_with_code_2() -> None:
    with pytest.raises(SystemExit) as exited:
        SCRIPTS.evaluate(["--primary_metric=rmse"])  # a regression metric: not this project's
    assert exited.value.code == 2
