"""The platform hosts ML projects by config: a project is a stack-file entry plus its folder's wheel.

A third, synthetic project is added to dev's config in memory, its wheel built into a temporary
dist/ from a minimal job graph: it plans with its own resources, and the per-project invariants
hold on it and on the four committed stacks.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import StackPlans, copied_dist, settings_with, stack_document
from project_invariants import ENDPOINT, JOB, check_project_invariants, groups_granted
from wheel_files import build_wheel

from core.environment import Environment
from infra.wheel import WheelContents, read_wheel
from stacks import wiring
from stacks.loading import PROJECT, build_settings, namespace_values
from stacks.offline import OfflineRun, stack_config_from_file
from stacks.plan import stack_file, trained
from stacks.settings import StackSettings

ROOT = Path(__file__).resolve().parents[2]
CHAMPION = 3
# A name no user picks: a user's own project (the README's `churn`, say) may sit beside it.
SYNTHETIC = "suite-probe"
# The least a project's job graph needs: a training job and a scoring job, its own entry points.
SYNTHETIC_GRAPH = """
schema_version = 1
package_name = "suite_probe_mlops"

[jobs.training]
description = "Train and gate the probe model."
schedule = { quartz_cron = "0 0 2 ? * TUE", timezone = "UTC" }
max_concurrent_runs = 1
timeout_seconds = 2700
parameters = ["margin"]

[[jobs.training.tasks]]
key = "train"
entry_point = "suite-probe-train"
parameters = ["env", "catalog", "schema", "model_name", "experiment_name", "primary_metric"]
depends_on = []
max_retries = 0
timeout_seconds = 1800

[[jobs.training.tasks]]
key = "deploy"
entry_point = "suite-probe-deploy"
parameters = ["env", "catalog", "schema", "model_name", "endpoint_name"]
depends_on = ["train"]
max_retries = 0
timeout_seconds = 900

[jobs.batch_inference]
description = "Score the probes."
max_concurrent_runs = 1
timeout_seconds = 1200

[[jobs.batch_inference.tasks]]
key = "score"
entry_point = "suite-probe-score"
parameters = ["env", "catalog", "schema", "model_name"]
depends_on = []
max_retries = 1
timeout_seconds = 600
"""
SYNTHETIC_SCRIPTS = ("suite-probe-train", "suite-probe-deploy", "suite-probe-score")
SYNTHETIC_ENTRY = {"name": SYNTHETIC, "path": f"ml/projects/{SYNTHETIC}", "primaryMetric": "accuracy"}


def settings_of(config: dict[str, str], stack: str) -> StackSettings:
    values, secrets = namespace_values(config)
    return build_settings(stack, values, secrets)


def wheels_of(settings: StackSettings, dist: Path) -> dict[str, WheelContents]:
    return {p.name: read_wheel(wiring.project_dist(p, dist)) for p in settings.projects}


def stack_config(environment: Environment) -> dict[str, str]:
    config, _ = stack_config_from_file(stack_file(environment), PROJECT)
    return config


@pytest.mark.parametrize("environment", list(Environment))
def test_the_committed_stacks_hold_the_per_project_invariants(
    trained_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    settings = settings_of(stack_config(environment), environment)
    check_project_invariants(trained_plans[environment], settings, wheels_of(settings, wiring.DIST))


@pytest.fixture(scope="module")
def with_synthetic(
    plan_with: StackPlans, tmp_path_factory: pytest.TempPathFactory
) -> tuple[OfflineRun, StackSettings, Path]:
    """dev planned, after training, with one more project: its folder and wheel in tmp, its entry
    in the stack config; nothing else of the repository changes."""
    root = tmp_path_factory.mktemp("synthetic")
    dist = copied_dist(root)
    scripts = {script: "suite_probe_mlops.cli:main" for script in SYNTHETIC_SCRIPTS}
    build_wheel(dist / SYNTHETIC, package="suite_probe_mlops", graph=SYNTHETIC_GRAPH, console_scripts=scripts)
    entries = stack_document(Environment.DEV)["config"][f"{PROJECT}:projects"]
    overrides = {"projects": [*entries, SYNTHETIC_ENTRY]}
    settings = settings_with(Environment.DEV, overrides)
    for project in settings.projects:  # each entry's folder, as a project folder of this copy
        folder = root / project.path
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pyproject.toml").write_text(
            f'[project]\nname = "{project.name}-mlops"\n', encoding="utf-8"
        )
    workspace = trained(CHAMPION, [p.name for p in settings.projects])
    run = plan_with(Environment.DEV, overrides, workspace=workspace, dist=dist, root=root)
    return run, settings, dist


def test_a_project_added_by_config_plans_its_own_resources(
    with_synthetic: tuple[OfflineRun, StackSettings, Path],
) -> None:
    run, settings, dist = with_synthetic
    planned = check_project_invariants(run, settings, wheels_of(settings, dist))
    probe = planned[SYNTHETIC]
    assert {job["name"] for job in probe.of_type(JOB)} == {
        "mlops-dev-suite-probe-training",
        "mlops-dev-suite-probe-batch-inference",
    }
    [endpoint] = probe.of_type(ENDPOINT)
    assert endpoint["name"] == "mlops-dev-suite-probe-model"
    shared = {settings.databricks.readers_group, settings.databricks.deployers_group}
    assert groups_granted(probe) - shared == {"mlops-suite-probe-developers"}
    names = {r.name for r in probe.resources}
    assert {
        "databricks-suite-probe-uc-schema",
        "databricks-suite-probe-registry-model",
        "databricks-suite-probe-jobs-training",
    } <= (names)
    # A new project moves no state: none of its resources takes over a former URN.
    assert all(not r.aliases for r in probe.resources)
    assert (
        run.exports["projects"][SYNTHETIC]["registeredModelName"] == "mlops_dev.suite_probe.suite_probe_model"
    )


def test_adding_a_project_leaves_the_others_resources_as_they_were(
    with_synthetic: tuple[OfflineRun, StackSettings, Path], trained_plans: dict[Environment, OfflineRun]
) -> None:
    """Only the shared grants learn the new developers group (USE CATALOG, and READ on the jobs'
    secret scope in dev); every resource of the other projects plans with the same inputs."""
    run, _, _ = with_synthetic

    def inputs(run: OfflineRun) -> dict[str, dict[str, object]]:
        # The upload's local source is this test's temporary dist/: only where the bytes come from.
        return {r.urn: {k: v for k, v in r.masked_inputs().items() if k != "source"} for r in run.resources}

    before, after = inputs(trained_plans[Environment.DEV]), inputs(run)
    assert set(before) <= set(after)
    changed = sorted(urn.rsplit("::", 1)[1] for urn in before if before[urn] != after[urn])
    # The drift alert watches every project's training job.
    assert changed == ["databricks-uc-catalog-grants", "drift-alert-rule"]
    added = sorted(urn.rsplit("::", 1)[1] for urn in set(after) - set(before))
    assert all(name.startswith(f"databricks-{SYNTHETIC}") for name in added if "secrets" not in name)
    assert "databricks-secrets-developers-suite-probe-acl" in added
