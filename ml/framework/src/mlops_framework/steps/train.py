"""Train: fit the pipeline, log it with signature and input example, register it as challenger.

Training is skipped when the challenger or champion was trained on the same data by the same
wheel (same fingerprint), so a rerun of the job adds no model version and moves no alias.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

from ..context import TaskContext
from ..drift_reference import REFERENCE_ARTIFACT, training_profile
from ..faults import VERSION_CREATED, checkpoint
from ..model_trust import ARTIFACT_DIGEST_TAG, logged_model_digest
from ..project import TRAIN_SCORE_METRIC
from ..recovery import mark_incomplete_versions
from ..vocabulary import CHALLENGER, CHAMPION

FINGERPRINT_TAG = "training_fingerprint"
# On runs started by a drift alert (retrain.py): the drift summary that started them.
DRIFT_SUMMARY_TAG = "drift_summary"
# skops loads without executing code from the file; it needs `skops` where the model is served.
SERIALIZATION_FORMAT = mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS
CV_FOLDS = 5
# Libraries the served model loads with besides its flavor's (scikit-learn, skops): pinned at the
# versions this run used, or Model Serving resolves its own (pandas 3, a numpy newer than
# scikit-learn 1.6 was built for).
SERVING_PINNED = ("numpy", "pandas", "scipy")


def serving_requirements() -> list[str]:
    """The model's pip requirements; MLflow adds `mlflow==<this version>` in front
    (mlflow/utils/environment.py, _process_pip_requirements)."""
    flavor = mlflow.sklearn.get_default_pip_requirements(include_skops=True)
    return [*flavor, *(f"{name}=={version(name)}" for name in SERVING_PINNED)]


def fingerprint(features: pd.DataFrame, labels: pd.Series, pipeline: Pipeline, wheel_version: str) -> str:
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(features, index=False).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(labels, index=False).to_numpy().tobytes())
    digest.update(repr(pipeline).encode())
    digest.update(wheel_version.encode())
    return digest.hexdigest()


def train(ctx: TaskContext, shuffle_labels_seed: int | None = None) -> str:
    """`shuffle_labels_seed` trains on permuted labels: a deliberately worse challenger for tests."""
    project = ctx.project
    train_rows, _ = project.split_holdout(ctx.backend.read_table(ctx.table(project.tables.features)))
    features = project.features_of(train_rows)
    labels = project.labels_of(train_rows)
    if shuffle_labels_seed is not None:
        permuted = np.random.default_rng(shuffle_labels_seed).permutation(labels.to_numpy())
        labels = pd.Series(permuted, name=project.label_column)
    regularization = ctx.params.regularization
    pipeline = project.build_estimator(regularization)  # part of the fingerprint: a new strength trains anew
    training_fingerprint = fingerprint(features, labels, pipeline, project.version)

    # What a killed training left: its run closed, its half-made version marked (recovery.py).
    ctx.close_interrupted_runs(ctx.experiment_id())
    mark_incomplete_versions(ctx.client, ctx.model_name, FINGERPRINT_TAG, ctx.project.tags)
    for alias in (CHALLENGER, CHAMPION):
        existing = ctx.alias_version(alias)
        if existing is not None and existing.tags.get(FINGERPRINT_TAG) == training_fingerprint:
            if ctx.model_files_missing(existing) is not None:
                continue  # its files are gone (artifacts removed): train a usable version anew
            ctx.client.set_registered_model_alias(ctx.model_name, CHALLENGER, existing.version)
            kept = f"{ctx.model_name} v{existing.version} ({alias})"
            return f"{kept} was trained on the same data by the same code: kept as challenger"

    with ctx.run() as run:
        if ctx.params.drift_summary is not None:
            mlflow.set_tag(DRIFT_SUMMARY_TAG, ctx.params.drift_summary)
        cv_scores = cross_val_score(
            project.build_estimator(regularization), features, labels, cv=CV_FOLDS, scoring=project.cv_scoring
        )
        pipeline.fit(features, labels)
        # What the monitor compares windows with, summarised once (drift_reference.py).
        profile = training_profile(project, train_rows, pipeline)
        mlflow.log_dict(profile.to_dict(), REFERENCE_ARTIFACT)
        last_step = f"{pipeline.steps[-1][0]}__"  # the estimator's own parameters
        mlflow.log_params(
            {
                **{k: v for k, v in pipeline.get_params().items() if k.startswith(last_step)},
                "train_rows": len(features),
                "label_shuffle_seed": shuffle_labels_seed,
            }
        )
        mlflow.log_metrics(
            {
                TRAIN_SCORE_METRIC[project.kind]: float(pipeline.score(features, labels)),
                f"cv_{project.cv_scoring}_mean": float(cv_scores.mean()),
                f"cv_{project.cv_scoring}_std": float(cv_scores.std()),
            }
        )
        example = features.head(5)
        info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=infer_signature(example, pipeline.predict(example)),
            input_example=example,
            # MLflow picks cloudpickle on Databricks and skops elsewhere
            # (mlflow/sklearn/__init__.py, _get_default_serialization_format): set it, so what the
            # tests load is what Databricks writes.
            serialization_format=SERIALIZATION_FORMAT,
            # Explicit requirements: inferring them starts a Python process that imports mlflow and
            # scikit-learn again, the slowest part of a training run. skops is pinned with them:
            # serving cannot load a skops model without it.
            pip_requirements=serving_requirements(),
        )
        # Not `registered_model_name=`: mlflow.register_model calls create_registered_model first
        # and ignores only "already exists" (mlflow/tracking/_model_registry/fluent.py,
        # _register_model), which Unity Catalog refuses without CREATE MODEL on the schema. The
        # model is Pulumi's, owned by the job principal, and an owner may add versions.
        ctx.backend.ensure_registered_model(ctx.client, ctx.model_name)
        created = ctx.client.create_model_version(
            ctx.model_name, source=info.model_uri, run_id=run.info.run_id, model_id=info.model_id
        )
        version = str(created.version)
        checkpoint(VERSION_CREATED)
        # What the loaders verify (model_trust.py): the files as this run wrote them.
        digest = logged_model_digest(info.model_uri)
        tags = {**ctx.provenance, ARTIFACT_DIGEST_TAG: digest, FINGERPRINT_TAG: training_fingerprint}
        for key, value in tags.items():
            ctx.client.set_model_version_tag(ctx.model_name, version, key, value)
        ctx.client.set_registered_model_alias(ctx.model_name, CHALLENGER, version)
    return f"registered {ctx.model_name} v{version} as {CHALLENGER} (run {run.info.run_id})"
