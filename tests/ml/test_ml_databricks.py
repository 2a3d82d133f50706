"""The jobs on the fake Databricks workspace (fake_databricks.py): serverless Spark, Unity Catalog
privileges and tag rules, Model Serving through the real SDK, job parameter pushdown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from databricks.sdk.errors import ResourceConflict
from databricks_workspace import DEVELOPERS, Environment
from fake_databricks import FakeSpark, SparkError
from iris_mlops.data import DEPLOYMENTS_TABLE, FEATURE_COLUMNS, FEATURES_TABLE, PREDICTIONS_TABLE
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.context import TaskContext
from mlops_framework.entrypoints import run_task
from mlops_framework.errors import MissingStateError
from mlops_framework.gate import APPROVAL_TAG, APPROVED, AWAITING_APPROVAL
from mlops_framework.params import TaskParameters
from mlops_framework.steps.approve import GATE_STATUS_TAG
from mlops_framework.steps.batch_inference import batch_inference
from mlops_framework.steps.monitor import current_window, earlier_retrain, scored_in
from mlops_framework.vocabulary import UPDATED_AT_COLUMN

MakeEnvironment = Callable[..., Environment]


# ------------------------------------------------------------------------- the fake is strict


def test_the_fake_refuses_spark_properties_outside_the_serverless_allowlist() -> None:
    spark = FakeSpark()
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    with pytest.raises(SparkError, match="CONFIG_NOT_AVAILABLE"):
        spark.conf.set("spark.databricks.delta.commitInfo.userMetadata", "task=ingest")
    FakeSpark(serverless=False).conf.set("spark.databricks.delta.commitInfo.userMetadata", "x")


def test_the_fake_refuses_cache_under_serverless() -> None:
    frame = FakeSpark().createDataFrame(pd.DataFrame({"a": [1]}))
    for uncachable in (frame.cache, frame.persist):
        with pytest.raises(SparkError, match="serverless"):
            uncachable()


def test_the_fake_refuses_a_config_update_while_one_is_in_progress(workspace: MakeEnvironment) -> None:
    environment = workspace()
    environment.rest.create(environment.endpoint, environment.model, "1")
    environment.rest.start_update(environment.endpoint, "1", polls=5)
    with pytest.raises(ResourceConflict):
        environment.backend._client().serving_endpoints.update_config(
            name=environment.endpoint, served_entities=[]
        )


def test_a_missing_table_is_none_yet_for_the_monitor(
    workspace: MakeEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retrains table exists only after a first retrain, the predictions table only after a
    first batch: the monitor on Databricks reads neither as an error (Spark Connect raises
    TABLE_OR_VIEW_NOT_FOUND at the first action)."""
    environment = workspace("dev")
    params = TaskParameters(env=environment.env, catalog=environment.catalog, schema=environment.schema)
    ctx = TaskContext.create("monitor", params, environment.backend, IRIS)
    with pytest.raises(MissingStateError, match="does not exist yet"):
        environment.backend.read_table(ctx.table("never_written"))
    assert earlier_retrain(ctx, "1970-01-01T00:00Z/24h") is None
    start, end, _ = current_window(datetime.now(UTC))
    assert scored_in(ctx, start, end).empty

    def refused(name: str) -> None:
        raise SparkError(f"[INSUFFICIENT_PERMISSIONS] User does not have SELECT on Table '{name}'.")

    monkeypatch.setattr(environment.spark, "table", refused)
    with pytest.raises(SparkError, match="INSUFFICIENT_PERMISSIONS"):  # any other error goes through
        earlier_retrain(ctx, "1970-01-01T00:00Z/24h")


# ------------------------------------------------------------------------------ the jobs on it


def test_training_and_batch_inference_run_on_serverless(workspace: MakeEnvironment) -> None:
    """Catches conf.set of commit metadata, cache() on the scored frame, dotted tag keys and
    mlflow.register_model's CREATE MODEL: each raises on this workspace."""
    environment = workspace("dev")
    training = environment.run("training")
    assert training.succeeded, training.outcomes
    assert environment.champion() == "1"
    environment.rest.create(environment.endpoint, environment.model, "1")  # the next `pulumi up`
    batch = environment.run("batch_inference")
    assert batch.succeeded, batch.outcomes
    tables = environment.spark.tables
    prefix = f"{environment.catalog}.{environment.schema}"
    assert len(tables[f"{prefix}.{PREDICTIONS_TABLE}"]) == 150
    assert set(tables[f"{prefix}.{PREDICTIONS_TABLE}"]["model_version"]) == {"1"}
    for table in (FEATURES_TABLE, PREDICTIONS_TABLE, DEPLOYMENTS_TABLE):
        (created, *_) = environment.spark.history[f"{prefix}.{table}"]
        assert "iris_mlops_task=" in str(created["userMetadata"]), table
        assert environment.spark.properties[f"{prefix}.{table}"]["iris_mlops_env"] == "dev"
    assert not environment.spark.conf.values

    # The next day's run scores only the rows changed since (three, restamped), and appends them
    # (the monitors read the history); a rerun finds nothing new; days past the retention are
    # deleted (a Delta DELETE, then the provenance properties).
    params = TaskParameters(env=environment.env, catalog=environment.catalog, schema=environment.schema)
    ctx = TaskContext.create("batch-inference", params, environment.backend, IRIS)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    features = tables[f"{prefix}.{FEATURES_TABLE}"]
    features.loc[:2, [FEATURE_COLUMNS[0], UPDATED_AT_COLUMN]] = [9.9, pd.Timestamp(tomorrow)]
    said = [batch_inference(ctx, now=tomorrow) for _ in range(2)]
    assert [each.split()[1] for each in said] == ["3", "0"], said
    predictions = tables[f"{prefix}.{PREDICTIONS_TABLE}"]
    assert predictions.groupby("scored_on").size().to_list() == [150, 3]
    later = tomorrow + timedelta(days=ctx.project.predictions_retention_days)
    features.loc[3:4, UPDATED_AT_COLUMN] = pd.Timestamp(later)
    assert "deleted 153 rows" in batch_inference(ctx, now=later)
    assert set(tables[f"{prefix}.{PREDICTIONS_TABLE}"]["scored_on"]) == {later.date()}
    assert environment.spark.history[f"{prefix}.{PREDICTIONS_TABLE}"][-2]["operation"] == "DELETE"


def test_the_model_is_written_with_skops_and_pins_it_for_serving(workspace: MakeEnvironment) -> None:
    environment = workspace("dev")
    assert environment.run("training").succeeded
    uri = f"models:/{environment.model}/1"
    local = Path(mlflow.artifacts.download_artifacts(uri))
    flavor = yaml.safe_load((local / "MLmodel").read_text())["flavors"]["sklearn"]
    assert flavor["serialization_format"] == "skops"
    requirements = (local / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("skops==") for line in requirements), requirements
    # What was tested, not what Model Serving would resolve (pandas 3, a newer numpy).
    for name in ("mlflow", "scikit-learn", "numpy", "pandas", "scipy"):
        assert f"{name}=={version(name)}" in requirements, (name, requirements)


def test_a_job_parameter_override_reaches_every_task(workspace: MakeEnvironment) -> None:
    environment = workspace("dev")
    run = environment.run("training", margin="0.02")
    assert run.succeeded, run.outcomes
    assert set(run.outcomes) == {"ingest", "train", "evaluate", "approve", "deploy"}


def test_on_databricks_env_catalog_and_schema_are_required(workspace: MakeEnvironment) -> None:
    workspace("dev")
    with pytest.raises(SystemExit) as exited:
        run_task("iris-ingest", ["--env=dev"], IRIS)
    assert exited.value.code == 2


# ---------------------------------------------------------------------------- the approval path


def test_uat_waits_for_an_approver_who_can_tag_and_release(workspace: MakeEnvironment) -> None:
    environment = workspace("uat")
    training = environment.run("training")
    assert training.succeeded, training.outcomes  # waiting is not a failure
    assert environment.alias_tags("challenger")[GATE_STATUS_TAG] == AWAITING_APPROVAL
    assert environment.champion() is None
    assert environment.deployments() == []
    with pytest.raises(SystemExit) as refused:
        environment.approve_version("1", as_principal=DEVELOPERS)  # developers hold EXECUTE only
    assert refused.value.code == 1
    assert APPROVAL_TAG not in environment.alias_tags("challenger")
    with pytest.raises(SystemExit):
        environment.approve_version("7")  # not the challenger
    environment.approve_version("1")
    assert environment.alias_tags("challenger")[APPROVAL_TAG] == APPROVED
    release = environment.run("release")
    assert release.succeeded, release.outcomes
    assert environment.champion() == "1"
    assert environment.alias_tags("challenger")[GATE_STATUS_TAG] == "passed"


# ---------------------------------------------------------------------------------- deploying


def second_version_approved(workspace: MakeEnvironment) -> Environment:
    """v1 champion behind a live endpoint; v2 trained with another C, evaluated and let through."""
    environment = workspace("dev")
    assert environment.run("training").succeeded
    environment.rest.create(environment.endpoint, environment.model, "1", workload_size="Small")
    environment.task("iris-train", "--regularization=0.5")
    environment.task("iris-evaluate")
    environment.task("iris-approve", "--gate_mode=disabled")
    assert environment.alias_tags("challenger")[GATE_STATUS_TAG] == "passed"
    return environment


def test_a_failed_update_keeps_the_champion_a_retry_waits_out_an_update_and_a_rerun_keeps_the_previous(
    workspace: MakeEnvironment,
) -> None:
    """One endpoint through three deploys (each needs v1 live and v2 approved: two trainings)."""
    environment = second_version_approved(workspace)

    # 1. The endpoint's update fails: nothing is recorded and v1 stays champion and served.
    before = environment.deployments()
    environment.rest.fail_next_update = True
    with pytest.raises(SystemExit):
        environment.task("iris-deploy")
    assert environment.rest.serves(environment.endpoint) == "1"
    assert environment.champion() == "1"
    assert environment.deployments() == before

    # 2. Retried while another update runs (e.g. a `pulumi up`): it waits for that one, then its own.
    environment.rest.start_update(environment.endpoint, "1", polls=2)
    environment.task("iris-deploy")
    assert environment.rest.serves(environment.endpoint) == "2"
    assert environment.rest.endpoints[environment.endpoint]["state"]["config_update"] == "NOT_UPDATING"
    assert environment.champion() == "2"
    _failed, sent = environment.rest.puts
    assert sent["served_entities"][0]["workload_size"] == "Small"  # Pulumi's fields go back as they were

    # 3. Run again after its success: no second update, and the record keeps the version it replaced.
    environment.task("iris-deploy")
    records = {str(r["model_version"]): str(r["previous_version"]) for r in environment.deployments()}
    assert records["2"] == "1"
    assert len(environment.rest.puts) == 2
