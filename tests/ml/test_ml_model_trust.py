"""Loading a model obeys our rules, not its MLmodel file's: skops only, our trusted types, the
digest recorded at registration (iris_mlops/model_trust.py). Each refusal is a crafted model."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import skops.io
import yaml
from iris_mlops.project import PROJECT as IRIS
from mlops_framework.backends import select_backend
from mlops_framework.context import RegisteredVersion, TaskContext
from mlops_framework.model_trust import (
    ARTIFACT_DIGEST_TAG,
    UntrustedModelError,
    artifact_digest,
    check_model_folder,
    verified_model_folder,
)
from mlops_framework.params import TaskParameters
from mlops_framework.steps.batch_inference import batch_inference
from mlops_framework.vocabulary import CHAMPION
from sklearn.preprocessing import FunctionTransformer


def _context() -> TaskContext:
    return TaskContext.create("test", TaskParameters(), select_backend(), IRIS)


@pytest.fixture(scope="module")
def champion_files(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the trained champion's files and the digest training recorded for them."""
    ctx = _context()
    champion = ctx.alias_version(CHAMPION)
    assert champion is not None
    recorded = ctx.client.get_model_version(ctx.model_name, champion.version).tags[ARTIFACT_DIGEST_TAG]
    copy = tmp_path_factory.mktemp("champion") / "model"
    with verified_model_folder(ctx.client, ctx.model_name, champion.version) as folder:
        shutil.copytree(folder, copy)
    return copy, recorded


def _crafted(champion_files: tuple[Path, str], tmp_path: Path, edit: Callable[[Path], None]) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(champion_files[0], folder)
    edit(folder)
    return folder


def _edit_mlmodel(change: Callable[[dict[str, object]], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        meta = yaml.safe_load((folder / "MLmodel").read_text(encoding="utf-8"))
        change(meta)
        (folder / "MLmodel").write_text(yaml.safe_dump(meta), encoding="utf-8")

    return edit


def test_training_records_the_digest_the_loader_checks(champion_files: tuple[Path, str]) -> None:
    folder, recorded = champion_files
    assert recorded == artifact_digest(folder)
    check_model_folder(folder, recorded, "the champion")


def test_files_changed_after_registration_are_refused(
    champion_files: tuple[Path, str], tmp_path: Path
) -> None:
    folder = _crafted(champion_files, tmp_path, lambda f: (f / "model.skops").write_bytes(b"swapped"))
    with pytest.raises(UntrustedModelError, match="changed after training"):
        check_model_folder(folder, champion_files[1], "the champion")


def test_a_version_without_a_recorded_digest_is_refused(champion_files: tuple[Path, str]) -> None:
    with pytest.raises(UntrustedModelError, match=f"no {ARTIFACT_DIGEST_TAG} tag"):
        check_model_folder(champion_files[0], None, "the champion")


def _pickle(meta: dict[str, object]) -> None:
    meta["flavors"]["sklearn"]["serialization_format"] = "cloudpickle"  # type: ignore[index]


def _trust_everything(meta: dict[str, object]) -> None:
    meta["flavors"]["sklearn"]["skops_trusted_types"] = ["builtins.exec"]  # type: ignore[index]


def _untrusted_type_in_the_file(folder: Path) -> None:
    skops.io.dump(FunctionTransformer(shutil.rmtree), folder / "model.skops")


# The attacker here also rewrote the recorded digest: the format and type rules hold on their own.
@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        (_edit_mlmodel(_pickle), "not a skops-serialised sklearn model"),
        (_edit_mlmodel(_trust_everything), "outside the wheel's trusted list: ['builtins.exec']"),
        (_untrusted_type_in_the_file, "outside the wheel's trusted list"),
    ],
    ids=["cloudpickle", "MLmodel trusts exec", "file needs an untrusted type"],
)
def test_a_model_that_would_run_code_is_refused_whatever_its_digest(
    champion_files: tuple[Path, str], tmp_path: Path, edit: Callable[[Path], None], complaint: str
) -> None:
    folder = _crafted(champion_files, tmp_path, edit)
    with pytest.raises(UntrustedModelError) as refused:
        check_model_folder(folder, artifact_digest(folder), "a crafted model")
    assert complaint in str(refused.value)


def test_the_loader_refuses_a_version_whose_tag_does_not_match(trained: Path) -> None:
    """End to end through the registry and the steps' loader: a version of the champion's files
    whose recorded digest is not theirs."""
    ctx = _context()
    champion = ctx.alias_version(CHAMPION)
    assert champion is not None
    source = ctx.client.get_model_version(ctx.model_name, champion.version)
    tampered = TaskContext.create(
        "test", TaskParameters(model_name=f"{ctx.params.model_name}_tampered"), select_backend(), IRIS
    )
    tampered.client.create_registered_model(tampered.model_name)
    version = tampered.client.create_model_version(
        tampered.model_name, source=source.source, model_id=source.model_id
    )
    tampered.client.set_model_version_tag(tampered.model_name, version.version, ARTIFACT_DIGEST_TAG, "0" * 64)
    with pytest.raises(UntrustedModelError, match="changed after training"):
        tampered.load_model(RegisteredVersion(str(version.version), source.model_id), CHAMPION)
    # Batch inference hands its backend the verified copy, never the store's files.
    tampered.client.set_registered_model_alias(tampered.model_name, CHAMPION, version.version)
    with pytest.raises(UntrustedModelError, match="changed after training"):
        batch_inference(tampered)
