"""A resource's existence never depends on who is looking (issue 24, defects 1 and 2).

The endpoint and the quality monitor can only be created after a job ran, so the first `pulumi up`
after it decides by reading the workspace; from then on they exist because that update recorded
them (infra/last_deploy.py). The Databricks invokes answer as each identity would
(stacks/offline_fakes.py, WorkspaceState: ListTables and GetRegisteredModel access rules): the
deployers from their grants, the PR preview identity as a browse-only caller.

The checks: each committed stack, trained and deployed, plans the same resources whoever plans it
next, in a preview or an update; a removed alias or an unreadable table never deletes; a deployer
sees what it must create; a preview that cannot decide says so; an update that cannot decide stops.
"""

from __future__ import annotations

import dataclasses

import pytest
from harness import StackPlans, after_deploy, trained_workspace

from core.environment import Environment
from stacks.offline import OfflineRun
from stacks.offline_fakes import Viewer
from stacks.plan import stack_projects

SERVING = "databricks:index/modelServing:ModelServing"
MONITOR = "databricks:index/qualityMonitor:QualityMonitor"
AFTER_JOBS = (SERVING, MONITOR)


def _urns(run: OfflineRun) -> set[str]:
    return {r.urn for r in run.resources}


def _after_jobs(run: OfflineRun) -> set[str]:
    return {r.urn for r in run.resources if r.type in AFTER_JOBS}


@pytest.mark.parametrize("environment", list(Environment), ids=str)
def test_what_the_last_deploy_created_exists_whoever_plans_next(
    plan_with: StackPlans, trained_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """The first `pulumi up` after training and scoring (trained_plans: the deployer reads the
    alias and lists the table) creates the endpoints and monitors its settings ask for; the next
    PR preview, as the browse-only identity, plans exactly the same resources. It planned no
    monitor and no endpoint at all when the lookups decided (every uat/prod preview deleted the
    monitor; prod's protected endpoint failed every PR)."""
    deployed = trained_plans[environment]
    preview = plan_with(
        environment, workspace=after_deploy(deployed, trained_workspace(environment), Viewer.PREVIEW)
    )
    assert _urns(preview) == _urns(deployed)


@pytest.mark.parametrize("environment", [Environment.UAT, Environment.PROD], ids=str)
def test_a_removed_alias_or_an_unreadable_table_deletes_nothing(
    plan_with: StackPlans, trained_plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    """Once created, neither object depends on a lookup: with the alias moved away and no table
    visible, a deployer's next update plans them as before, each endpoint still created on the
    version it was created on (`entityVersion` is the deploy task's, ignore_changes)."""
    deployed = trained_plans[environment]
    bare = dataclasses.replace(trained_workspace(environment), champion_version=None, tables=())
    update = plan_with(environment, workspace=after_deploy(deployed, bare), dry_run=False)
    assert _urns(update) == _urns(deployed)
    assert _after_jobs(update), "the stack asks for endpoints or monitors"
    versions = {
        r.plain_inputs()["config"]["servedEntities"][0]["entityVersion"] for r in update.of_type(SERVING)
    }
    assert versions <= {str(v) for v in {trained_workspace(environment).champion_version}}


def test_the_deployer_sees_the_table_it_must_monitor(trained_plans: dict[Environment, OfflineRun]) -> None:
    """ListTables shows a table only to its owner (the job principal) or a SELECT holder: the
    deployers, owners of catalog and schema, hold SELECT on the schema, or no update would ever
    create a monitor (and creating one as catalog owner needs SELECT on the table too)."""
    uat = trained_plans[Environment.UAT]
    assert {r.name for r in uat.of_type(MONITOR)} == {
        f"databricks-{name}-monitoring-monitor" for name in stack_projects(Environment.UAT)
    }


def test_every_project_monitor_has_its_own_assets_folder(
    trained_plans: dict[Environment, OfflineRun],
) -> None:
    folders = [r.plain_inputs()["assetsDir"] for r in trained_plans[Environment.PROD].of_type(MONITOR)]
    assert len(folders) == len(set(folders)) == len(stack_projects(Environment.PROD))


def test_a_preview_that_cannot_read_the_alias_shows_no_endpoint_and_says_why(plan_with: StackPlans) -> None:
    """Trained, not yet deployed since: the browse-only preview cannot tell whether the next
    deploy creates the endpoints. It plans none, fails nothing, and warns per endpoint."""
    workspace = dataclasses.replace(trained_workspace(Environment.DEV), viewer=Viewer.PREVIEW)
    preview = plan_with(Environment.DEV, workspace=workspace)
    assert preview.of_type(SERVING) == []
    warnings = [text for severity, text in preview.messages if severity == "warning"]
    assert len(warnings) == len(stack_projects(Environment.DEV))  # one per project's endpoint
    assert all("may only browse the model" in text and "the deploy decides" in text for text in warnings)


def test_an_update_that_cannot_read_the_alias_stops_with_a_clear_error(plan_with: StackPlans) -> None:
    """The same answer in an update means the deployer lacks EXECUTE: never read as "no alias"."""
    workspace = dataclasses.replace(trained_workspace(Environment.DEV), viewer=Viewer.PREVIEW)
    with pytest.raises(Exception, match=r"may only browse the model.*must hold what infra/access\.py grants"):
        plan_with(Environment.DEV, workspace=workspace, dry_run=False)


def test_a_brand_new_environment_says_what_waits_for_a_job(plans: dict[Environment, OfflineRun]) -> None:
    """The plan names each object that waits, and for which job (issue 28 shows these in make plan)."""
    infos = [text for severity, text in plans[Environment.UAT].messages if severity == "info"]
    assert sum("waits for a first training run" in text for text in infos) == 2
    assert sum("quality monitor waits for" in text for text in infos) == 2
