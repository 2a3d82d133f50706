"""The second cycle on the fake Databricks workspace: what only a second training, a second
release or two jobs at once meet. Each test here failed before the fix it guards."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from databricks_workspace import JOBS, Environment
from iris_mlops.recovery import INCOMPLETE_TAG, TASK_TAG

MakeEnvironment = Callable[..., Environment]
GET_VERSION = "/api/2.0/mlflow/unity-catalog/model-versions/get"


def killed_training_version(environment: Environment) -> str:
    """A version registered by a train run that ended before tagging it (a kill after
    create_model_version): the champion's files under a new number, without train's tags."""
    client = environment.client()
    champion = client.get_model_version_by_alias(environment.model, "champion")
    experiment = client.get_experiment_by_name(environment.task_parameters()["experiment_name"])
    assert experiment is not None
    run = client.create_run(experiment.experiment_id, tags={TASK_TAG: "train"})
    with environment.acting_as(JOBS):
        created = client.create_model_version(environment.model, champion.source, run_id=run.info.run_id)
    client.set_terminated(run.info.run_id, status="FAILED")
    return str(created.version)


def test_the_next_training_on_unity_catalog_reads_tags_per_version_and_marks_a_killed_one(
    workspace: MakeEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defect: search results on UC carry no tags (`ModelVersionSearch.tags` raises), so every
    training after the first failed with a TypeError in recovery."""
    environment = workspace("dev")
    assert environment.run("training").succeeded
    killed = killed_training_version(environment)
    monkeypatch.setattr(environment.registry, "page_size", 1)  # a version a page, an empty page between
    with environment.workspace.server.recording() as requests:
        environment.task("iris-train", "--regularization=0.5")
    assert environment.client().get_model_version(environment.model, killed).tags[INCOMPLETE_TAG]
    assert environment.alias_tags("challenger")["training_fingerprint"]
    read = [path for _, method, path in requests if method == "GET" and path == GET_VERSION]
    assert len(read) == 2  # the killed version, then the complete one below it; no further
