"""Rules for `--key=value` task parameters (how python_wheel_task named parameters arrive)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.cli import main
from mlops_framework.errors import ParameterError
from mlops_framework.job_graph import load_job_graph
from mlops_framework.params import (
    PARAMETER_SPECS,
    Environment,
    GateMode,
    PrimaryMetric,
    TaskParameters,
    parse_parameters,
)
from mlops_framework.runner import check_job_arguments, job_arguments, run_job

ALL = tuple(PARAMETER_SPECS)


def test_every_contract_parameter_has_a_parser() -> None:
    contract = {"env", "catalog", "schema", "model_name", "primary_metric", "margin", "require_approval"}
    assert contract | {"endpoint_name", "experiment_name"} <= set(PARAMETER_SPECS)


def test_no_arguments_gives_the_documented_defaults() -> None:
    assert parse_parameters([], ALL, "iris-test") == TaskParameters()


def test_well_formed_values_are_parsed_to_their_types() -> None:
    params = parse_parameters(
        [
            "--env=UAT",
            "--catalog=mlops_uat",
            "--schema=iris",
            "--model_name=iris_classifier",
            "--primary_metric=accuracy",
            "--margin=0.05",
            "--require_approval=false",
            "--endpoint_name=iris-uat",
            "--gate_mode=dry_run",
            "--experiment_name=/Shared/mlops-uat-iris_classifier",
            "--regularization=0.1",
        ],
        ALL,
        "iris-test",
    )
    assert params.env is Environment.UAT
    assert params.primary_metric is PrimaryMetric.ACCURACY
    assert params.margin == pytest.approx(0.05)
    assert params.require_approval is False
    assert params.gate_mode is GateMode.DRY_RUN
    assert params.resolved_endpoint_name == "iris-uat"
    assert params.resolved_experiment_name == "/Shared/mlops-uat-iris_classifier"
    assert params.regularization == pytest.approx(0.1)


def test_without_the_platforms_experiment_runs_go_to_one_per_environment() -> None:
    assert parse_parameters(["--env=prod"], ALL, "iris-test").resolved_experiment_name == (
        "/Shared/iris-mlops-prod"
    )


def test_unknown_parameter_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(
        ParameterError, match=r"unknown parameter --model_name; iris-ingest accepts: env, catalog, schema"
    ):
        parse_parameters(["--model_name=x"], ("env", "catalog", "schema"), "iris-ingest")


@pytest.mark.parametrize(
    ("argument", "needle"),
    [
        ("--env=qa", "allowed values: sandbox, dev, uat, prod"),
        ("--margin=2", "a number from 0 to 1"),
        ("--margin=lots", "a number from 0 to 1"),
        ("--require_approval=maybe", "true or false"),
        ("--catalog=bad-name", "Unity Catalog identifier"),
        ("--primary_metric=auc", "accuracy, f1_macro"),
        ("--endpoint_name=-x", "letters, digits"),
        ("--experiment_name=Shared/x", "absolute workspace path"),
        ("--experiment_name=/Shared//x", "absolute workspace path"),
        ("--experiment_name=/", "absolute workspace path"),
        ("--experiment_name=", "absolute workspace path"),
        ("--regularization=0", "a decimal number from 1e-06 to 1e+06"),
        ("--regularization=-1", "a decimal number from"),
        ("--regularization=inf", "a decimal number from"),
        ("--regularization=strong", "a decimal number from"),
    ],
)
def test_malformed_value_names_parameter_and_allowed_values(argument: str, needle: str) -> None:
    key = argument[2:].split("=", maxsplit=1)[0]
    with pytest.raises(ParameterError) as raised:
        parse_parameters([argument], ALL, "iris-test")
    assert f"--{key}" in str(raised.value)
    assert needle in str(raised.value)


@pytest.mark.parametrize("argument", ["env=dev", "--env", "-e=dev", "dev"])
def test_argument_not_shaped_key_equals_value_is_rejected(argument: str) -> None:
    with pytest.raises(ParameterError, match="expected --key=value"):
        parse_parameters([argument], ALL, "iris-test")


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ParameterError) as raised:
        parse_parameters(["--env=qa", "--bogus=1", "--margin=9", "--env=dev"], ALL, "iris-test")
    message = str(raised.value)
    assert all(part in message for part in ("--env", "--bogus", "--margin"))


def test_repeated_parameter_is_an_error() -> None:
    with pytest.raises(ParameterError, match="more than once"):
        parse_parameters(["--env=dev", "--env=dev"], ALL, "iris-test")


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,30}", fullmatch=True))
def test_any_unity_catalog_identifier_is_accepted_unchanged(name: str) -> None:
    assert parse_parameters([f"--schema={name}"], ALL, "iris-test").schema == name


@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_any_margin_in_range_round_trips(margin: float) -> None:
    assert parse_parameters([f"--margin={margin!r}"], ALL, "iris-test").margin == margin


@pytest.mark.parametrize(
    "raw", ["1_000", "1e308", "1e-7", "nan", "NaN", "inf", " 1", "1 ", "0x10", "1e", "", "+-1", "1e4000"]
)
def test_regularization_takes_plain_decimal_numbers_in_a_sane_range_only(raw: str) -> None:
    with pytest.raises(ParameterError, match=r"--regularization: .* a decimal number from 1e-06 to 1e\+06"):
        parse_parameters([f"--regularization={raw}"], ALL, "iris-test")


@pytest.mark.parametrize(("raw", "value"), [("0.5", 0.5), ("1e3", 1000.0), ("1000", 1000.0), ("1e-6", 1e-6)])
def test_regularization_in_range_is_accepted(raw: str, value: float) -> None:
    assert parse_parameters([f"--regularization={raw}"], ALL, "iris-test").regularization == value


@pytest.mark.parametrize("raw", ["nan", "1_0", "-0.5", "1.5", "inf"])
def test_margin_takes_a_plain_number_from_0_to_1(raw: str) -> None:
    with pytest.raises(ParameterError, match="--margin"):
        parse_parameters([f"--margin={raw}"], ALL, "iris-test")


JOBS = load_job_graph(IRIS.package)


def test_a_job_checks_every_parameter_of_every_task_before_the_first_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MLOPS_HOME", str(home))
    bad = ["--regularization=abc", "--env=qa", "--margin=2", "--primary_metric=auc", "--bogus=1"]
    with pytest.raises(ParameterError) as raised:
        run_job(JOBS.job("training"), bad, project=IRIS)
    message = str(raised.value)
    assert message.startswith("job training: ")
    for name in ("--regularization", "--env", "--margin", "--primary_metric", "--bogus"):
        assert name in message
    assert raised.value.exit_code == 2
    assert not home.exists()  # ingest never ran: no state was created


def test_the_cli_exits_2_on_a_bad_value_before_any_job_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    with pytest.raises(SystemExit) as exited:
        main(["run", "training", "batch-inference", "--regularization=-1"], project=IRIS)
    assert exited.value.code == 2
    assert not (tmp_path / "home").exists()


def test_an_unknown_job_is_a_usage_error_like_a_bad_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "home"))
    with pytest.raises(SystemExit) as exited:
        main(["run", "training", "nope"], project=IRIS)
    assert exited.value.code == 2  # as `--env=bogus`: the command line is wrong, nothing ran
    assert not (tmp_path / "home").exists()


def test_run_help_lists_every_job_the_graph_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"], project=IRIS)
    shown = " ".join(capsys.readouterr().out.split())
    assert (
        "jobs of iris-mlops's job graph: " + ", ".join(sorted(key.replace("_", "-") for key in JOBS.jobs))
        in shown
    )
    assert {"training", "batch_inference", "monitoring", "release"} <= set(JOBS.jobs)


def test_several_jobs_take_the_union_of_their_parameters() -> None:
    jobs = [JOBS.job("training"), JOBS.job("batch-inference")]
    arguments = ["--env=uat", "--require_approval=false"]
    assert check_job_arguments(jobs, arguments, IRIS).require_approval is False
    assert job_arguments(JOBS.job("batch-inference"), arguments, IRIS) == ["--env=uat"]
