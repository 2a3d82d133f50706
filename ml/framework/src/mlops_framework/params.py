"""Task parameters: the `--key=value` arguments a Databricks `python_wheel_task` passes.

Every parameter is one row of `PARAMETER_SPECS` (its parser and the values it allows); each task
accepts a subset of them. Problems are reported all at once, each naming the parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from .errors import ParameterError
from .vocabulary import DECISION_DEFAULTS, Environment, PrimaryMetric, Rescore


class GateMode(StrEnum):
    DISABLED = "disabled"  # no checks: the challenger always passes
    DRY_RUN = "dry_run"  # checks run and are reported, a failure does not block
    ENFORCED = "enforced"  # a failed check stops the job and the champion stays


@dataclass(frozen=True)
class TaskParameters:
    """Parsed parameters.

    The defaults are Iris's local ones; a project's spec supplies its own (ProjectSpec.defaults).
    The gate's and the monitor's (margin, approval, drift thresholds) are the same in every
    environment: on Databricks the platform passes the environment's values, and a local run that
    passes none gets vocabulary.DECISION_DEFAULTS.
    """

    project: str = "iris"  # not a parameter: the project whose tasks run (names its defaults)
    env: Environment = Environment.DEV
    catalog: str = "main"
    schema: str = "iris"
    model_name: str = "iris_classifier"
    primary_metric: PrimaryMetric = PrimaryMetric.F1_MACRO
    margin: float = DECISION_DEFAULTS.margin
    require_approval: bool = DECISION_DEFAULTS.require_approval
    endpoint_name: str | None = None
    gate_mode: GateMode = GateMode.ENFORCED
    experiment_name: str | None = None
    regularization: float | None = None
    # Monitoring (steps/monitor.py, drift.py).
    drift_psi_threshold: float = DECISION_DEFAULTS.drift_psi_threshold
    drift_p_value: float = DECISION_DEFAULTS.drift_p_value
    drift_min_rows: int = DECISION_DEFAULTS.drift_min_rows
    training_job_name: str | None = None  # Databricks: the job a drift alert starts
    drift_summary: str | None = None  # set by a drift alert on the retrain it starts (JSON)
    # The job run a task belongs to (the platform passes Databricks' `{{job.run_id}}`, the local
    # runner its own id): deploy deploys what approve decided in the same job run (decisions.py).
    job_run_id: str | None = None
    # Batch inference: a job parameter, so a person may start a full rescore (job_graph.toml).
    rescore: Rescore = Rescore.CHANGED

    @property
    def resolved_endpoint_name(self) -> str:
        return self.endpoint_name or f"{self.project}-{self.env}"

    @property
    def resolved_experiment_name(self) -> str:
        """On Databricks the platform passes the experiment Pulumi created for the job principal
        (`/Shared/<prefix>-<env>-<model_name>`); locally one experiment per environment."""
        return self.experiment_name or f"/Shared/{self.project}-mlops-{self.env}"


# Unity Catalog names that need no backtick quoting; they are also used in SQL and file paths.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
# Databricks serving endpoint names: alphanumerics, dashes and underscores.
_ENDPOINT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
# MLflow experiments on Databricks are absolute workspace paths: `/` then non-empty segments.
_WORKSPACE_PATH = re.compile(r"(?:/[^/\x00-\x1f]+)+")
# Plain decimal numbers only: Python's float() also takes "1_000", "nan", "inf" and " 1 ", which no
# job parameter form or API client means as a number.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
# The estimator's regularization strength (Iris: LogisticRegression's C; diabetes: Ridge's alpha):
# outside this range it only changes the model by overflowing or by
# regularizing every coefficient to zero, so such a value is a typo, not a setting.
REGULARIZATION_RANGE = (1e-6, 1e6)
# Databricks job names as the platform makes them (`<prefix>-<env>-<job>`).
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
DRIFT_SUMMARY_MAX_CHARS = 4000
# The job run a task belongs to (TaskParameters.job_run_id); also the name under which approve
# records it on its run (decisions.py). Databricks run ids are digits; the local runner's `local-<hex>`.
JOB_RUN_PARAMETER = "job_run_id"
_JOB_RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _enum_parser(enum: type[StrEnum]) -> Callable[[str], object]:
    def parse(raw: str) -> object:
        return enum(raw.lower())

    return parse


def _identifier(raw: str) -> str:
    if not _IDENTIFIER.fullmatch(raw):
        raise ValueError(raw)
    return raw


def _endpoint(raw: str) -> str:
    if not _ENDPOINT.fullmatch(raw):
        raise ValueError(raw)
    return raw


def _workspace_path(raw: str) -> str:
    if not _WORKSPACE_PATH.fullmatch(raw) or raw != raw.strip() or len(raw) > 1024:
        raise ValueError(raw)
    return raw


def _number(raw: str) -> float:
    if not _NUMBER.fullmatch(raw):
        raise ValueError(raw)
    return float(raw)


def _margin(raw: str) -> float:
    value = _number(raw)
    if not 0.0 <= value <= 1.0:
        raise ValueError(raw)
    return value


def _regularization(raw: str) -> float:
    value = _number(raw)
    low, high = REGULARIZATION_RANGE
    if not low <= value <= high:
        raise ValueError(raw)
    return value


def _psi_threshold(raw: str) -> float:
    value = _number(raw)
    if not 0.0 < value <= 10.0:
        raise ValueError(raw)
    return value


def _probability(raw: str) -> float:
    value = _number(raw)
    if not 0.0 < value < 1.0:
        raise ValueError(raw)
    return value


def _min_rows(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000_000:
        raise ValueError(raw)
    return int(raw)


def _job_name(raw: str) -> str:
    if not _JOB_NAME.fullmatch(raw):
        raise ValueError(raw)
    return raw


def _job_run_id(raw: str) -> str:
    if not _JOB_RUN_ID.fullmatch(raw):
        raise ValueError(raw)
    return raw


def _drift_summary(raw: str) -> str | None:
    """Empty or `{}` (the job parameter's default: not started by a drift alert), or one JSON object."""
    if raw in ("", "{}"):
        return None
    if len(raw) > DRIFT_SUMMARY_MAX_CHARS:
        raise ValueError(raw)
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(raw) from error
    if not isinstance(parsed, dict):
        raise ValueError(raw)
    return raw


def _boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(raw)


@dataclass(frozen=True)
class ParameterSpec:
    parse: Callable[[str], object]
    allowed: str  # shown in error messages


PARAMETER_SPECS: dict[str, ParameterSpec] = {
    "env": ParameterSpec(_enum_parser(Environment), ", ".join(Environment)),
    "catalog": ParameterSpec(_identifier, "a Unity Catalog identifier ([A-Za-z_][A-Za-z0-9_]*)"),
    "schema": ParameterSpec(_identifier, "a Unity Catalog identifier ([A-Za-z_][A-Za-z0-9_]*)"),
    "model_name": ParameterSpec(_identifier, "a Unity Catalog identifier ([A-Za-z_][A-Za-z0-9_]*)"),
    "primary_metric": ParameterSpec(_enum_parser(PrimaryMetric), ", ".join(PrimaryMetric)),
    "margin": ParameterSpec(_margin, "a number from 0 to 1"),
    "require_approval": ParameterSpec(_boolean, "true or false"),
    "endpoint_name": ParameterSpec(_endpoint, "1-63 letters, digits, '-' or '_'"),
    "gate_mode": ParameterSpec(_enum_parser(GateMode), ", ".join(GateMode)),
    "experiment_name": ParameterSpec(
        _workspace_path, "an absolute workspace path such as /Shared/mlops-dev-iris"
    ),
    "regularization": ParameterSpec(
        _regularization,
        f"a decimal number from {REGULARIZATION_RANGE[0]:g} to {REGULARIZATION_RANGE[1]:g} "
        "(the project's regularization strength, e.g. Iris's LogisticRegression C)",
    ),
    "drift_psi_threshold": ParameterSpec(_psi_threshold, "a number above 0, at most 10 (PSI)"),
    "drift_p_value": ParameterSpec(_probability, "a number between 0 and 1 (exclusive)"),
    "drift_min_rows": ParameterSpec(_min_rows, "a whole number from 1 to 10000000"),
    "training_job_name": ParameterSpec(_job_name, "a job name: letters, digits, '-', '_' or '.' (1-100)"),
    JOB_RUN_PARAMETER: ParameterSpec(
        _job_run_id, "a job run id: 1-64 letters, digits, '-' or '_' (the platform passes {{job.run_id}})"
    ),
    "rescore": ParameterSpec(_enum_parser(Rescore), ", ".join(Rescore)),
    "drift_summary": ParameterSpec(
        _drift_summary, f"empty, or one JSON object of at most {DRIFT_SUMMARY_MAX_CHARS} characters"
    ),
}


def split_argument(argument: str) -> tuple[str, str]:
    """`--key=value` -> (key, value); anything else is malformed."""
    if not argument.startswith("--") or "=" not in argument:
        raise ParameterError(f"malformed parameter {argument!r}: expected --key=value")
    key, _, value = argument[2:].partition("=")
    return key, value


def parse_parameters(
    argv: Sequence[str], accepted: Collection[str], program: str, defaults: TaskParameters | None = None
) -> TaskParameters:
    """Parse `--key=value` arguments that `program` accepts over `defaults` (Iris's when None);
    raise one error listing every problem."""
    problems: list[str] = []
    values: dict[str, object] = {}
    allowed_names = ", ".join(accepted)
    for argument in argv:
        try:
            key, raw = split_argument(argument)
        except ParameterError as error:
            problems.append(str(error))
            continue
        if key not in accepted or key not in PARAMETER_SPECS:
            problems.append(f"unknown parameter --{key}; {program} accepts: {allowed_names}")
        elif key in values:
            problems.append(f"parameter --{key} is given more than once")
        else:
            spec = PARAMETER_SPECS[key]
            try:
                values[key] = spec.parse(raw)
            except ValueError:
                problems.append(f"parameter --{key}: {raw!r} is not allowed; allowed values: {spec.allowed}")
    if problems:
        raise ParameterError(f"{program}: " + "; ".join(problems))
    return replace(defaults or TaskParameters(), **values)  # type: ignore[arg-type]
