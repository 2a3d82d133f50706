"""Three weeks of prod on one fake workspace, run by the jobs and schedules the real program plans
for prod (simulated_weeks.py): weekly trainings on unchanged and on changed data, daily batch
scoring and monitoring, two drift days, an approval, two releases, and a drift retrain that
overlaps a release. Every run must be green, and the tables must hold the whole history.

The world, week by week (prod: margin 0.01, a human approval, drift from 200 rows a window):

- week 1, Monday: field data arrives with a labelling bug (30 % of its versicolor marked
  virginica); the 03:00 training trains v1, an approver approves it and starts the release, then
  `pulumi up` creates the endpoint on it. Wednesday: a batch of flowers with 30 % longer petals is
  scored at 04:30; the 05:00 monitoring finds drift and starts the training job, which finds the
  same data and the same code: nothing new to promote.
- week 2, Monday: the training on unchanged data: nothing new to promote (defect 3: red with a
  margin above 0). Thursday: the field system's bug is fixed, its rows relabelled.
- week 3, Monday: the training on the corrected data trains v2, better than v1 by more than the
  margin: it awaits approval. Tuesday: new field data arrives; an approver approves v2. Wednesday:
  drift again, and the retrain it starts (v3, on Tuesday's data) overlaps the release of v2: the
  release deploys v2, the retrain finds its evaluation stale. Thursday is scored by v2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from databricks_workspace import APPROVERS, Environment, FakeWorkspace
from harness import StackPlans
from iris_mlops.data import (
    DEPLOYMENTS_TABLE,
    DRIFT_TABLE,
    FEATURE_COLUMNS,
    FEATURES_TABLE,
    KEY_COLUMN,
    LABEL_COLUMN,
    PREDICTIONS_TABLE,
    RETRAINS_TABLE,
    load_iris_frame,
)
from iris_mlops.project import PROJECT as IRIS
from iris_mlops.samples import new_samples
from mlops_framework.decisions import GATE_STATUS_TAG
from mlops_framework.errors import MissingStateError
from mlops_framework.incremental import stamp_updates
from mlops_framework.vocabulary import SCORED_ON_COLUMN, VERSION_COLUMN
from simulated_weeks import Clock, Simulation, planned_jobs

from core.environment import Environment as Stack
from stacks.offline import OfflineRun

MONDAY = datetime(2027, 3, 1, tzinfo=UTC)
DAYS = 18  # to the Friday of week 3: two days scored by the new champion
SHIFTED = {"petal_length_cm": 1.3, "petal_width_cm": 1.3}
DRIFT_DAYS = (2, 16)  # week 1 and week 3, Wednesdays


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def field_rows(rows: int, seed: int, first_key: int, mislabelled: float = 0.0) -> pd.DataFrame:
    """Labelled flowers from the field: Iris resampled with a millimetre of noise; a share of the
    versicolor marked virginica when the field system has its bug."""
    rng = np.random.default_rng(seed)
    iris = load_iris_frame()
    picked = iris.iloc[rng.choice(len(iris), size=rows)].reset_index(drop=True)
    frame = (picked[list(FEATURE_COLUMNS)] + rng.normal(0, 0.05, (rows, len(FEATURE_COLUMNS)))).round(1)
    frame.insert(0, KEY_COLUMN, np.arange(first_key, first_key + rows, dtype="int64"))
    labels = picked[LABEL_COLUMN].to_numpy().copy()
    labels[(labels == "versicolor") & (np.random.default_rng(seed + 1).random(rows) < mislabelled)] = (
        "virginica"
    )
    frame[LABEL_COLUMN] = labels
    return frame


class World:
    """What happens outside the platform's jobs, on the environment's tables and by its people."""

    def __init__(self, environment: Environment, endpoint: str) -> None:
        self.environment = environment
        self.endpoint = endpoint
        self.table = f"{environment.catalog}.{environment.schema}.{{}}".format

    def field_data(self, rows: pd.DataFrame, what: str) -> Callable[[Simulation], None]:
        def arrive(simulation: Simulation) -> None:
            """The field system writes as ingest does: a new or changed row stamped `updated_at`."""
            backend, table = self.environment.backend, self.table(FEATURES_TABLE)
            try:
                existing = backend.read_table(table)
            except MissingStateError:
                existing = None
            stamped = stamp_updates(rows, existing, KEY_COLUMN, simulation.clock.now)
            backend.merge_rows(table, stamped, (KEY_COLUMN,), {"source": "field"})
            simulation.note(what)

        return arrive

    def approve_and_release(self, simulation: Simulation) -> None:
        challenger = self.environment.client().get_model_version_by_alias(
            self.environment.model, "challenger"
        )
        self.environment.approve_version(str(challenger.version))
        simulation.note(f"an approver approves v{challenger.version} and starts the release")
        simulation.finish(simulation.start("release"), "an approver")

    def approve(self, simulation: Simulation) -> None:
        challenger = self.environment.client().get_model_version_by_alias(
            self.environment.model, "challenger"
        )
        self.environment.approve_version(str(challenger.version))
        simulation.note(f"an approver approves v{challenger.version}")

    def pulumi_up(self, simulation: Simulation) -> None:
        """The next `pulumi up` after the first training creates the endpoint on the champion."""
        self.environment.rest.create(self.endpoint, self.environment.model, self.environment.champion() or "")
        simulation.note("pulumi up creates the serving endpoint")

    def shifted_batch(self, seed: int) -> Callable[[Simulation], None]:
        """Flowers with longer petals, scored by the champion into the day's window (as the demo's
        drift stage does)."""

        def score(simulation: Simulation) -> None:
            backend, model = self.environment.backend, self.environment.model
            batch = new_samples(400, seed=seed, scale=SHIFTED, first_key=100_000 * seed)
            incoming = self.table("incoming_shifted")
            backend.merge_rows(incoming, batch, (KEY_COLUMN,), {"source": "field"})
            champion = str(self.environment.champion())
            uri = f"models:/{model}/{champion}"
            scored_at = simulation.clock.now
            backend.score_table(
                uri, champion, incoming, self.table(PREDICTIONS_TABLE), {}, project=IRIS, scored_at=scored_at
            )
            simulation.note(f"400 flowers with longer petals scored by v{champion}")

        return score

    def release_overlapping_the_retrain(self, simulation: Simulation) -> None:
        """The approver starts the release while the drift retrain runs: their tasks interleave."""
        (retrain,) = simulation.queued()
        release = simulation.start("release")
        simulation.note("the release and the drift retrain run at once")
        for run, task in (
            (release, "approve"),
            (retrain, "ingest"),
            (retrain, "train"),
            (retrain, "evaluate"),
            (release, "deploy"),
        ):
            assert simulation.step(run, task) == "succeeded", (task, run.outcomes)
        simulation.finish(release, "an approver")
        simulation.finish(retrain, "run-now (drift), overlapping the release")


def verdict(environment: Environment, job_run: str) -> str:
    """What approve decided in that job run (decisions.py)."""
    client = environment.client()
    experiment = client.get_experiment_by_name(environment.task_parameters()["experiment_name"])
    assert experiment is not None
    (run,) = client.search_runs(
        [experiment.experiment_id], f"tags.iris_mlops_task = 'approve' and params.job_run_id = '{job_run}'"
    )
    return str(run.data.tags[GATE_STATUS_TAG])


@pytest.fixture
def prod_plan(plan_with: StackPlans) -> OfflineRun:
    """The committed prod stack, planned once a session (shared with the `plans` of the infra tests)."""
    return plan_with(Stack.PROD)


def test_three_weeks_of_prod_end_green_on_the_expected_champion_with_the_whole_history(
    workspace: Callable[..., Environment],
    fake_workspace: FakeWorkspace,
    prod_plan: OfflineRun,
) -> None:
    jobs = planned_jobs(prod_plan.resources, "iris")
    approve = jobs["training"].task("approve").named_parameters
    clock = Clock(MONDAY)
    environment = workspace("prod", schema=approve["schema"], catalog=approve["catalog"], clock=clock)
    simulation = Simulation(environment, jobs, fake_workspace.jobs, clock)
    simulation.register({"release": (APPROVERS,)})
    world = World(environment, jobs["training"].task("deploy").named_parameters["endpoint_name"])
    corrected = field_rows(150, seed=4, first_key=1_000)
    events = {
        at(0, 0): world.field_data(
            field_rows(150, seed=4, first_key=1_000, mislabelled=0.3), "field data, with a bug"
        ),
        at(0, 3, 15): world.approve_and_release,
        at(0, 3, 30): world.pulumi_up,
        at(2, 4, 30): world.shifted_batch(seed=1),
        at(10, 12): world.field_data(corrected, "the field system's bug is fixed: its rows relabelled"),
        at(15, 12): world.field_data(field_rows(150, seed=5, first_key=5_000), "new field data"),
        at(15, 16): world.approve,
        at(16, 4, 30): world.shifted_batch(seed=2),
        at(16, 5, 15): world.release_overlapping_the_retrain,
    }
    simulation.advance(at(DAYS, 0), events)
    timeline = "\n".join(
        f"{entry.at:%a %d %H:%M} {entry.job:<16} {entry.why:<42} {entry.outcomes}"
        for entry in simulation.timeline
    )
    assert all(set(entry.outcomes.values()) == {"succeeded"} for entry in simulation.timeline), timeline
    decided = [
        verdict(environment, entry.run_id) for entry in simulation.timeline if "approve" in entry.outcomes
    ]
    assert decided == [
        "awaiting_approval",  # week 1, Monday: v1, the first training
        "passed",  # its release
        "unchanged",  # week 1, Wednesday: the drift retrain on the same data
        "unchanged",  # week 2, Monday: the weekly training on the same data
        "awaiting_approval",  # week 3, Monday: v2, on the corrected data
        "passed",  # its release, Wednesday...
        "stale",  # ...and the drift retrain that overlapped it (v3, judged against v1)
    ]
    assert environment.champion() == "2"
    assert environment.rest.serves(world.endpoint) == "2"
    assert environment.alias_tags("challenger")["iris_mlops_task"] == "train"  # v3, waiting
    tables = environment.spark.tables
    deployments = tables[world.table(DEPLOYMENTS_TABLE)].sort_values("deployed_at")
    assert deployments["model_version"].tolist() == ["1", "2"]
    predictions = tables[world.table(PREDICTIONS_TABLE)]
    assert not predictions.duplicated([KEY_COLUMN, VERSION_COLUMN, SCORED_ON_COLUMN]).any()
    batch = predictions[predictions[KEY_COLUMN] < 100_000]
    per_day = {day.day - MONDAY.day: rows for day, rows in batch.groupby(SCORED_ON_COLUMN).size().items()}
    # Each run scores what its champion has not scored: v1 every row on the first day (Iris and the
    # field's 150), the field fix's relabelled rows the day after it, the new field rows the next
    # morning, and v2 every row the day after its release; on the other days nothing changed.
    assert per_day == {0: 300, 11: 19, 16: 150, 17: 450}
    drift = tables[world.table(DRIFT_TABLE)]
    assert drift.groupby("window_id").size().tolist() == [len(FEATURE_COLUMNS) + 1] * DAYS
    drifted = sorted(
        {pd.Timestamp(start).day - MONDAY.day for start in drift[drift["status"] == "drift"]["window_start"]}
    )
    assert drifted == list(DRIFT_DAYS)
    assert tables[world.table(RETRAINS_TABLE)]["started"].tolist() == [True, True]
