"""The approval path of uat and prod, as `make demo` shows it on uat-like settings.

The training job runs with `--env=uat` into a schema of its own (the dev champion stays as it is),
and with the gate parameters the platform passes to uat's jobs (`margin`, `require_approval`, from
Pulumi.uat.yaml and stacks/defaults.py; the wheel has no table per environment): the gate passes
every check but the human approval, so the job succeeds and the challenger waits
(`gate_status=awaiting_approval`). An approver then types what docs/ml.md lists; here the same
commands run locally, against the demo's MLflow store instead of Unity Catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlops_framework.backends.local import LocalBackend
from mlops_framework.steps.approve import GATE_STATUS_TAG
from mlops_framework.vocabulary import CHALLENGER, CHAMPION
from rich.table import Table

from demo.job_env import JobEnvironment
from demo.stage_runner import StageError, StageResult
from stacks.plan import stack_settings

APPROVAL_ENV = "uat"
APPROVAL_SCHEMA = "iris_uat"
MODEL = f"main.{APPROVAL_SCHEMA}.iris_classifier"
SCOPE = (f"--env={APPROVAL_ENV}", f"--schema={APPROVAL_SCHEMA}")


def gate_parameters(root: Path, environment: str = APPROVAL_ENV, project: str = "iris") -> tuple[str, ...]:
    """The gate's parameters the platform gives the project's jobs in `environment` (its settings),
    as `iris-mlops run` must be given them to behave the same."""
    settings = stack_settings(environment, root)
    margin = next(entry.margin for entry in settings.projects if entry.name == project)
    return (f"--margin={margin}", f"--require_approval={str(settings.model.require_approval).lower()}")


@dataclass(frozen=True)
class Versions:
    challenger: str | None
    champion: str | None
    status: str | None


def versions(home: Path) -> Versions:
    client = MlflowClient(
        tracking_uri=LocalBackend(home).tracking_uri, registry_uri=LocalBackend(home).tracking_uri
    )

    def alias(name: str) -> tuple[str | None, dict[str, str]]:
        try:
            found = client.get_model_version_by_alias(MODEL, name)
        except MlflowException:
            return None, {}
        return str(found.version), dict(found.tags)

    (challenger, tags), (champion, _) = alias(CHALLENGER), alias(CHAMPION)
    return Versions(challenger, champion, tags.get(GATE_STATUS_TAG))


def approval(environment: JobEnvironment, root: Path, home: Path) -> StageResult:
    steps = Table("who", "types", "then", title=f"approval on {MODEL} ({APPROVAL_ENV}-like)")

    def run(who: str, arguments: list[str]) -> None:
        done = environment.run(arguments, cwd=root)
        state = versions(home)
        then = f"challenger {_shown(state.challenger)} {state.status}, champion {_shown(state.champion)}"
        steps.add_row(
            who, " ".join(arguments), then if done.returncode == 0 else f"[red]exit {done.returncode}"
        )
        if done.returncode != 0:
            raise StageError(f"`{' '.join(arguments)}` failed:\n{(done.stdout + done.stderr)[-1500:]}")

    reset(home)
    gate = gate_parameters(root)
    run("scheduler", ["iris-mlops", "run", "training", *SCOPE, *gate])
    waiting = versions(home)
    if waiting.status == "awaiting_approval" and waiting.challenger is not None:
        run("approver", ["iris-mlops", "approve", *SCOPE, f"--version={waiting.challenger}"])
        run("approver", ["iris-mlops", "run", "release", *SCOPE, *gate])
        verdict = f"v{waiting.challenger} waited for approval, was approved and released"
    else:
        verdict = f"nothing awaits approval (challenger {_shown(waiting.challenger)} is {waiting.status})"
    final = versions(home)
    return StageResult(f"{verdict}; champion {_shown(final.champion)}", steps, {"champion": final.champion})


def reset(home: Path) -> None:
    """Start the uat-like model from nothing, so that every run of the demo shows the whole path:
    on a rerun its challenger would meet a champion of the same settings and be rejected by the gate
    before any approval. The model is the demo's own (schema iris_uat); dev's is untouched."""
    client = MlflowClient(
        tracking_uri=LocalBackend(home).tracking_uri, registry_uri=LocalBackend(home).tracking_uri
    )
    try:
        client.delete_registered_model(MODEL)
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise


def _shown(version: str | None) -> str:
    return "none" if version is None else f"v{version}"
