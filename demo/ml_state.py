"""Read what the local jobs left behind: the gate's decision in MLflow, the predictions table.

The names come from the wheel's own package (installed editable in the project venv), so the demo
reads exactly where the jobs wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deltalake import DeltaTable
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlops_framework.backends.local import LocalBackend
from mlops_framework.steps.approve import GATE_STATUS_TAG
from mlops_framework.steps.evaluate import CHAMPION_VERSION_TAG, challenger_tag, champion_tag
from rich.table import Table

from demo.projects import IRIS_DEMO, DemoProject

# The demo runs the jobs with their local defaults (catalog, schema, model).
MODEL = IRIS_DEMO.model


def _client(home: Path) -> MlflowClient:
    uri = LocalBackend(home).tracking_uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def registered_versions(home: Path, project: DemoProject = IRIS_DEMO) -> int:
    """How many versions of the model the local registry holds (0 before the first run)."""
    if not (home / "mlflow.db").exists():
        return 0
    return len(_client(home).search_model_versions(f"name='{project.model}'"))


def gate_table(home: Path, project: DemoProject = IRIS_DEMO) -> tuple[Table, str]:
    """The newest challenger against the champion it was judged with, and the gate's status."""
    client, model, metric = _client(home), project.model, project.metric
    versions = client.search_model_versions(f"name='{model}'")
    if not versions:
        raise LookupError(f"no version of {model} in {home}: the training job registered nothing")
    challenger = max(versions, key=lambda v: int(v.version))
    champion = client.get_model_version_by_alias(model, "champion") if _has_champion(client, model) else None
    tags = challenger.tags
    status = tags.get(GATE_STATUS_TAG, "not evaluated")
    table = Table("", "version", metric, title=f"gate on {model}: {status}")
    table.add_row("challenger", f"v{challenger.version}", _score(tags.get(challenger_tag(metric))))
    judged_against = tags.get(CHAMPION_VERSION_TAG, "none")
    shown_against = judged_against if judged_against == "none" else f"v{judged_against}"
    table.add_row("champion it was judged against", shown_against, _score(tags.get(champion_tag(metric))))
    table.add_row("champion now", f"v{champion.version}" if champion else "none", "")
    return table, status


def _score(tag: str | None) -> str:
    return "-" if tag is None else f"{float(tag):.4f}"


def _has_champion(client: MlflowClient, model: str) -> bool:
    return "champion" in (client.get_registered_model(model).aliases or {})


@dataclass(frozen=True)
class PredictionsWritten:
    table: str
    model_version: str
    rows: int
    total_rows: int


def champion_version(home: Path, project: DemoProject = IRIS_DEMO) -> ModelVersion:
    return _client(home).get_model_version_by_alias(project.model, "champion")


def predictions_written(home: Path, project: DemoProject = IRIS_DEMO) -> PredictionsWritten:
    """Rows the current champion wrote into the predictions table."""
    name = project.table(project.spec.tables.predictions)
    frame = DeltaTable(str(LocalBackend(home).table_path(name))).to_pandas()
    champion = champion_version(home, project).version
    mine = frame[frame["model_version"].astype(str) == str(champion)]
    return PredictionsWritten(name, str(champion), len(mine), len(frame))
