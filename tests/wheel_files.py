"""Small wheels shaped like a project's (job graph + entry points), written as `make wheel` writes
them: the tests' one way to build or rewrite a wheel."""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path

# The contract's shape (docs/contracts.md section 1); tasks deliberately not in task_key order.
JOB_GRAPH = """
schema_version = 1
package_name = "iris_mlops"

[jobs.training]
description = "Ingest, train, evaluate, approve and deploy the Iris classifier."
schedule = { quartz_cron = "0 0 3 ? * MON", timezone = "UTC" }
max_concurrent_runs = 1
timeout_seconds = 10500

[[jobs.training.tasks]]
key = "train"
entry_point = "iris-train"
parameters = ["env", "catalog", "schema", "model_name", "primary_metric"]
depends_on = ["ingest"]
max_retries = 1
timeout_seconds = 1800

[[jobs.training.tasks]]
key = "ingest"
entry_point = "iris-ingest"
parameters = ["env", "catalog", "schema"]
max_retries = 1
timeout_seconds = 900

[[jobs.training.tasks]]
key = "evaluate"
entry_point = "iris-evaluate"
parameters = ["env", "catalog", "schema", "model_name", "primary_metric", "margin"]
depends_on = ["train"]
timeout_seconds = 900

[[jobs.training.tasks]]
key = "deploy"
entry_point = "iris-deploy"
parameters = ["env", "model_name", "endpoint_name", "catalog", "schema"]
depends_on = ["approve"]
timeout_seconds = 3600

[[jobs.training.tasks]]
key = "approve"
entry_point = "iris-approve"
parameters = ["env", "model_name", "require_approval", "catalog", "schema"]
depends_on = ["evaluate"]
timeout_seconds = 600

[jobs.batch_inference]
description = "Score the latest features with the champion."
schedule = { quartz_cron = "0 0 5 * * ?", timezone = "UTC" }
max_concurrent_runs = 1
timeout_seconds = 5400

[[jobs.batch_inference.tasks]]
key = "batch-inference"
entry_point = "iris-batch-inference"
parameters = ["env", "catalog", "schema", "model_name"]
max_retries = 2
timeout_seconds = 1800
"""

CONSOLE_SCRIPTS = {
    "iris-ingest": "mlops_framework.entrypoints:ingest",
    "iris-train": "mlops_framework.entrypoints:train",
    "iris-evaluate": "mlops_framework.entrypoints:evaluate",
    "iris-approve": "mlops_framework.entrypoints:approve",
    "iris-deploy": "mlops_framework.entrypoints:deploy",
    "iris-batch-inference": "mlops_framework.entrypoints:batch_inference",
    "iris-mlops": "mlops_framework.cli:main",
}


def write_wheel(path: Path, members: Mapping[str, str | bytes]) -> Path:
    """The archive at ``path`` with exactly ``members``, each with a fixed timestamp: the same
    inputs give the same bytes, as `make wheel` does."""
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            archive.writestr(zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return path


def build_wheel(
    directory: Path,
    *,
    package: str = "iris_mlops",
    version: str = "0.1.0",
    graph: str = JOB_GRAPH,
    console_scripts: Mapping[str, str] | None = None,
    payload: str = "",
) -> Path:
    """A wheel of ``package`` with a valid PEP 427 name; ``payload`` changes the bytes (and so the
    hash) only."""
    directory.mkdir(parents=True, exist_ok=True)
    scripts = CONSOLE_SCRIPTS if console_scripts is None else console_scripts
    dist_info = f"{package}-{version}.dist-info"
    entry_points = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
    distribution = package.replace("_", "-")
    members = {
        f"{package}/__init__.py": f'__version__ = "{version}"\n{payload}',
        f"{package}/job_graph.toml": graph,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n",
        f"{dist_info}/entry_points.txt": entry_points,
    }
    return write_wheel(directory / f"{package}-{version}-py3-none-any.whl", members)
