"""The second cycle on the fake Databricks workspace: what only a second training, a second
release or two jobs at once meet. Each test here failed before the fix it guards."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from databricks_workspace import APPROVERS, JOBS, Environment
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.entrypoints import task_entry

MakeEnvironment = Callable[..., Environment]
GET_VERSION = "/api/2.0/mlflow/unity-catalog/model-versions/get"


def killed_training_version(environment: Environment) -> str:
    """A version registered by a train run that ended before tagging it (a kill after
    create_model_version): the champion's files under a new number, without train's tags."""
    client = environment.client()
    champion = client.get_model_version_by_alias(environment.model, "champion")
    experiment = client.get_experiment_by_name(environment.task_parameters()["experiment_name"])
    assert experiment is not None
    run = client.create_run(experiment.experiment_id, tags={IRIS.tags.task: "train"})
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
    assert environment.client().get_model_version(environment.model, killed).tags[IRIS.tags.incomplete]
    assert environment.alias_tags("challenger")["training_fingerprint"]
    read = [path for _, method, path in requests if method == "GET" and path == GET_VERSION]
    assert len(read) == 2  # the killed version, then the complete one below it; no further


def test_the_weekly_training_on_unchanged_data_is_green_and_leaves_the_champion_alone(
    workspace: MakeEnvironment,
) -> None:
    """Defect: train keeps the champion as challenger, which cannot beat itself by a margin above
    0: the job failed every week and the serving champion got gate_status=failed."""
    environment = workspace("dev")
    assert environment.run("training", margin="0.01").succeeded
    before = environment.alias_tags("champion")
    again = environment.run("training", margin="0.01")
    assert again.succeeded, again.outcomes
    assert environment.champion() == "1"
    assert environment.alias_tags("champion") == before


def test_deploy_serves_what_approve_decided_while_a_training_moves_the_challenger(
    workspace: MakeEnvironment,
) -> None:
    """Defect: max_concurrent_runs is per job; a training that moved `challenger` between the
    release's approve and deploy made deploy act on the training's new version."""
    environment = workspace("dev")
    assert environment.run("training").succeeded
    environment.rest.create(environment.endpoint, environment.model, "1")
    environment.task("iris-train", "--regularization=0.5")
    environment.task("iris-evaluate")
    environment.task("iris-approve", "--gate_mode=disabled", job_run="1001")  # the release decides v2
    environment.task("iris-train", "--regularization=0.25", job_run="2002")  # a training overlaps: v3
    environment.task("iris-evaluate", job_run="2002")
    environment.task("iris-deploy", job_run="1001")  # the release deploys
    assert environment.champion() == "2"
    assert environment.rest.serves(environment.endpoint) == "2"
    environment.task("iris-approve", job_run="2002")  # v3 was judged against v1: stale, nothing decided
    environment.task("iris-deploy", job_run="2002")
    assert environment.champion() == "2"
    assert (
        environment.alias_tags("challenger")["iris_mlops_task"] == "train"
    )  # v3 waits for the next training
    assert [str(row["model_version"]) for row in environment.deployments()] == ["1", "2"]


APPROVE_TAKES = task_entry("iris-approve", IRIS).accepted


def refusal(weakened: dict[str, str]) -> str:
    """What the approve task says when it refuses these parameters in uat."""
    return "--env=dev, but catalog mlops_uat belongs to uat" if "env" in weakened else "refused in uat"


def uat_with_a_worse_challenger(workspace: MakeEnvironment) -> Environment:
    """uat: v1 approved, released and champion; v2 (another C) trained and evaluated against it."""
    environment = workspace("uat")
    assert environment.run("training").succeeded
    environment.approve_version("1")
    assert environment.run("release").succeeded
    environment.task("iris-train", "--regularization=0.5")
    environment.task("iris-evaluate")
    return environment


def test_in_uat_whoever_starts_the_release_can_neither_turn_the_gate_off_nor_rewrite_its_scores(
    workspace: MakeEnvironment,
) -> None:
    """Defect: a person who may start the release could pass gate_mode=disabled or
    require_approval=false, and name another environment (`env=dev`) to make either allowed; and
    APPLY TAG covers every tag, while approve trusted the `eval_*` tags."""
    environment = uat_with_a_worse_challenger(workspace)
    weakened = (
        {"gate_mode": "disabled"},
        {"require_approval": "false"},
        {"gate_mode": "dry_run"},
        {"env": "dev", "gate_mode": "disabled", "require_approval": "false"},  # uat's catalog says uat
    )
    for extra in weakened:
        with pytest.raises(SystemExit) as refused:  # as task parameters
            environment.task("iris-approve", *(f"--{k}={v}" for k, v in extra.items()))
        assert refused.value.code == 2
        assert refusal(extra) in str(refused.value.__cause__)
        # A legacy run-now by an approver: its named parameters, those approve takes, replace every
        # task's (deploy's endpoint_name is left out: approve would refuse it as unknown).
        legacy = {**{k: v for k, v in environment.task_parameters().items() if k in APPROVE_TAKES}, **extra}
        run = environment.run("release", python_named_params=legacy)
        assert run.outcomes == {"approve": "failed: 2", "deploy": "skipped"}
        assert refusal(extra) in run.errors["approve"]
    assert "gate_status" not in environment.client().get_model_version(environment.model, "2").tags

    client = environment.client()
    with environment.acting_as(APPROVERS):  # APPLY TAG: any tag of the version
        client.set_model_version_tag(environment.model, "2", "eval_f1_macro", "0.999")
        client.set_model_version_tag(environment.model, "2", "eval_champion_f1_macro", "0.5")
    environment.approve_version("2")
    release = environment.run("release", margin="0.2")  # v2 cannot beat v1 by 0.2
    assert release.outcomes["approve"] == "failed: 1", release.outcomes
    assert environment.champion() == "1"


def test_on_databricks_a_task_leaves_other_runs_open_whatever_their_host_and_pid(
    workspace: MakeEnvironment,
) -> None:
    """Defect: closing "interrupted" runs by host and pid could end another job's live run, whose
    host name and pid mean nothing on this one."""
    environment = workspace("dev")
    client = environment.client()
    name = environment.task_parameters()["experiment_name"]
    found = client.get_experiment_by_name(name)
    experiment = found.experiment_id if found is not None else client.create_experiment(name)
    other_job = client.create_run(experiment, tags={IRIS.tags.process: f"{socket.gethostname()}:999999999:1"})
    assert environment.run("training").succeeded
    assert client.get_run(other_job.info.run_id).info.status == "RUNNING"
