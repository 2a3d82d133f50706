"""The fake Unity Catalog registry (fake_uc_registry.py) answers MLflow's own `databricks-uc` client
as the service does: shapes, pages, error codes and privileges. No model is trained here: versions
are put into the fake's metastore directly, and every read and write goes through the real client."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from databricks_workspace import APPROVERS, DEPLOYER, DEVELOPERS, JOBS, Environment
from fake_uc_registry import Version
from mlflow import MlflowClient
from mlflow.entities.model_registry.model_version_search import ModelVersionSearch
from mlflow.exceptions import MlflowException
from mlops_framework.recovery import all_versions

MakeEnvironment = Callable[..., Environment]


def with_versions(environment: Environment, count: int) -> MlflowClient:
    model = environment.metastore.models[environment.model]
    for number in range(1, count + 1):
        version = Version(number, f"models:/m-{number}", f"run{number}", f"m-{number}", JOBS, "abfss://x")
        version.status, version.tags = "READY", {"step": str(number)}
        model.versions[number] = version
    return MlflowClient(registry_uri="databricks-uc")


def error_code(call: Callable[[], object]) -> str:
    with pytest.raises(MlflowException) as raised:
        call()
    return str(raised.value.error_code)


def test_a_search_answers_in_pages_without_tags_in_no_order(workspace: MakeEnvironment) -> None:
    environment = workspace()
    client = with_versions(environment, 5)
    first = client.search_model_versions(f"name='{environment.model}'")
    assert all(isinstance(version, ModelVersionSearch) for version in first)
    with pytest.raises(TypeError):
        assert "step" in first[0].tags  # what a first-week reading of tags meets on Unity Catalog
    assert len(first) == 2  # a page of two...
    assert first.token  # ...then more
    assert [v.version for v in all_versions(client, environment.model)] == ["5", "4", "3", "2", "1"]
    assert client.get_model_version(environment.model, "3").tags == {"step": "3"}
    assert error_code(lambda: client.search_model_versions("tags.step = '1'")) == "INVALID_PARAMETER_VALUE"


def test_privileges_decide_who_reads_tags_and_moves_aliases(workspace: MakeEnvironment) -> None:
    environment = workspace()
    client = with_versions(environment, 1)
    model = environment.model
    with environment.acting_as(DEVELOPERS):  # EXECUTE only
        assert client.get_model_version(model, "1").tags == {"step": "1"}
        assert error_code(lambda: client.set_model_version_tag(model, "1", "approval", "approved")) == (
            "PERMISSION_DENIED"
        )
    with environment.acting_as(APPROVERS):  # EXECUTE and APPLY TAG: tags, but no alias
        client.set_model_version_tag(model, "1", "approval", "approved")
        assert (
            error_code(lambda: client.set_registered_model_alias(model, "champion", "1"))
            == "PERMISSION_DENIED"
        )
    with environment.acting_as("outsider"):  # no USE CATALOG, USE SCHEMA or EXECUTE
        assert error_code(lambda: client.get_model_version(model, "1")) == "PERMISSION_DENIED"
        assert list(client.search_model_versions(f"name='{model}'")) == []  # filtered by privileges
    client.set_registered_model_alias(model, "champion", "1")  # the owner, the job principal
    assert client.get_model_version_by_alias(model, "champion").aliases == ["champion"]
    assert (
        error_code(lambda: client.get_model_version_by_alias(model, "challenger"))
        == "RESOURCE_DOES_NOT_EXIST"
    )
    assert error_code(lambda: client.get_model_version(model, "9")) == "RESOURCE_DOES_NOT_EXIST"


def test_tag_keys_values_and_counts_are_unity_catalogs(workspace: MakeEnvironment) -> None:
    environment = workspace()
    client = with_versions(environment, 1)
    model = environment.model
    for key in ("gate.status", "eval-x", "a=b", "a/b", "a:b", "a,b", "k" * 256):
        assert error_code(lambda key=key: client.set_model_version_tag(model, "1", key, "x")) == (
            "INVALID_PARAMETER_VALUE"
        )
    assert error_code(lambda: client.set_model_version_tag(model, "1", "long", "v" * 1001)) == (
        "INVALID_PARAMETER_VALUE"
    )
    for index in range(49):  # 50 tags with the one it had
        client.set_model_version_tag(model, "1", f"tag_{index}", "x")
    assert (
        error_code(lambda: client.set_model_version_tag(model, "1", "tag_51", "x"))
        == "INVALID_PARAMETER_VALUE"
    )
    client.set_model_version_tag(model, "1", "tag_0", "changed")  # replacing one is no new tag


def test_only_create_model_creates_and_only_the_owner_adds_versions(workspace: MakeEnvironment) -> None:
    environment = workspace()
    client = MlflowClient(registry_uri="databricks-uc")
    other = f"{environment.catalog}.{environment.schema}.other_model"
    assert (
        error_code(lambda: client.create_registered_model(other)) == "PERMISSION_DENIED"
    )  # jobs: no CREATE MODEL
    with environment.acting_as(DEPLOYER):
        assert (
            error_code(lambda: client.create_registered_model(environment.model)) == "RESOURCE_ALREADY_EXISTS"
        )
    with environment.acting_as(DEVELOPERS):
        assert error_code(lambda: client.set_registered_model_alias(environment.model, "x", "1")) == (
            "PERMISSION_DENIED"
        )


def test_an_unknown_token_is_unauthenticated(
    workspace: MakeEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = workspace()
    monkeypatch.setitem(os.environ, "DATABRICKS_TOKEN", "dapi-stolen")
    assert error_code(
        lambda: MlflowClient(registry_uri="databricks-uc").get_registered_model(environment.model)
    ) == ("UNAUTHENTICATED")
