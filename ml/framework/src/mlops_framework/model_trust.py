"""Load a registered model only as bytes our own training wrote, and never by running its code.

MLflow's sklearn flavour decides how to deserialise a model from the model's own ``MLmodel`` file:
its ``serialization_format`` (pickle when absent) and, for skops, the list of types to trust
(``skops_trusted_types``), both read from that file (mlflow/sklearn/__init__.py, ``_load_pyfunc``).
A crafted model can therefore ask for pickle, or whitelist any type for skops. Here the rules are
ours, not the file's:

- the format must be skops, with the ``mlflow.sklearn`` loader; pickle and cloudpickle are refused;
- the types the file needs beyond skops' defaults (``skops.io.get_untrusted_types``) and the types
  its MLmodel lists as trusted must all be in ``TRUSTED_TYPES`` (none today: skops' defaults cover
  the scikit-learn pipelines of every project);
- the files must hash to the digest training recorded on the version (``ARTIFACT_DIGEST_TAG``),
  so files replaced in the artifact store after registration are refused.

The checks run on a private local copy, and that copy is what is loaded: nothing re-reads the
store between the check and the load.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.models import Model
from mlflow.store.artifact.models_artifact_repo import REGISTERED_MODEL_META_FILE_NAME

from .errors import IrisMlopsError

# Set on every model version at registration (steps/train.py); UC tag keys are snake_case.
ARTIFACT_DIGEST_TAG = "artifact_sha256"
# Types trusted beyond skops' own defaults; extend only with a reviewed, code-free type.
TRUSTED_TYPES: tuple[str, ...] = ()
SKOPS_FORMAT = "skops"
SKLEARN_LOADER = "mlflow.sklearn"
# Written by the MLflow client into a downloaded `models:/` folder; not part of the stored model.
_CLIENT_WRITTEN = frozenset({REGISTERED_MODEL_META_FILE_NAME})


class UntrustedModelError(IrisMlopsError):
    """A model version's files are not what our training registered, or would run code to load."""


def artifact_digest(folder: Path) -> str:
    """sha256 over every file of a model folder: its relative path and its bytes, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in _CLIENT_WRITTEN):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return digest.hexdigest()


def logged_model_digest(model_uri: str) -> str:
    """The digest of a just-logged model's files, as the store holds them."""
    with tempfile.TemporaryDirectory(prefix="model-digest-") as scratch:
        return artifact_digest(Path(mlflow.artifacts.download_artifacts(model_uri, dst_path=scratch)))


def check_model_folder(folder: Path, expected_digest: str | None, what: str) -> None:
    """Refuse a folder that is not a skops sklearn model of trusted types with the recorded digest."""
    if not expected_digest:
        raise UntrustedModelError(
            f"{what} has no {ARTIFACT_DIGEST_TAG} tag: only versions registered by the training job "
            "carry one; retrain, then approve the new version"
        )
    found = artifact_digest(folder)
    if found != expected_digest:
        raise UntrustedModelError(
            f"{what}: its files hash to {found}, not the {ARTIFACT_DIGEST_TAG} recorded at registration "
            f"({expected_digest}); they were changed after training: do not serve it, retrain"
        )
    flavors = Model.load(str(folder / "MLmodel")).flavors
    sklearn = flavors.get("sklearn") or {}
    loader = (flavors.get("python_function") or {}).get("loader_module")
    if loader != SKLEARN_LOADER or sklearn.get("serialization_format") != SKOPS_FORMAT:
        raise UntrustedModelError(
            f"{what} is not a skops-serialised sklearn model (loader {loader!r}, format "
            f"{sklearn.get('serialization_format')!r}): pickle and cloudpickle run code when loaded"
        )
    import skops.io  # noqa: PLC0415 - only loading a model needs it (serving installs it with the model)

    wanted = set(sklearn.get("skops_trusted_types") or ())
    wanted |= set(skops.io.get_untrusted_types(file=folder / sklearn.get("pickled_model", "model.skops")))
    if extra := sorted(wanted - set(TRUSTED_TYPES)):
        raise UntrustedModelError(f"{what} needs types outside the wheel's trusted list: {extra}")


@contextmanager
def verified_model_folder(client: MlflowClient, model_name: str, version: str) -> Iterator[Path]:
    """A private local copy of the version's files, checked; removed when the block ends."""
    what = f"{model_name} v{version}"
    expected = client.get_model_version(model_name, version).tags.get(ARTIFACT_DIGEST_TAG)
    with tempfile.TemporaryDirectory(prefix="verified-model-") as scratch:
        folder = Path(
            mlflow.artifacts.download_artifacts(f"models:/{model_name}/{version}", dst_path=scratch)
        )
        check_model_folder(folder, expected, what)
        yield folder
