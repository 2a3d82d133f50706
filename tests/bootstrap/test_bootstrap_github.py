"""The GitHub environments as the bootstrap creates them: which refs may run a job in each, who
approves prod, and which identity each environment's jobs log in as (issue 29, finding 2: no
environment stack holds the token that could change any of this)."""

from __future__ import annotations

from typing import Any

import pulumi_github as github
import pytest

from bootstrap.settings import BootstrapSettings
from core.deployments import DEPLOYMENT_RULES, PROD_PREVIEW
from core.environment import Environment
from stacks.offline import FAKE_GITHUB_TEAM_ID, OfflineRun, fake_guid

ENVIRONMENT = github.RepositoryEnvironment.pulumi_type
POLICY = github.RepositoryEnvironmentDeploymentPolicy.pulumi_type
SECRET = github.ActionsEnvironmentSecret.pulumi_type


def _component(name: str) -> str:
    return f"github-{name}"


def _inputs_of(run: OfflineRun, type_: str, name: str) -> list[dict[str, Any]]:
    return [r.plain_inputs() for r in run.of_type(type_) if r.parent.endswith(f"::{_component(name)}")]


def test_every_environment_of_the_rules_exists_and_only_they(bootstrap_run: OfflineRun) -> None:
    names = {r.plain_inputs()["environment"] for r in bootstrap_run.of_type(ENVIRONMENT)}
    assert names == set(DEPLOYMENT_RULES)


@pytest.mark.parametrize("name", sorted(DEPLOYMENT_RULES))
def test_only_the_refs_of_its_rule_may_run_a_job_in_an_environment(
    bootstrap_run: OfflineRun, name: str
) -> None:
    """Named refs only: GitHub's "protected branches" mode cannot name tags and lets every branch
    deploy while the repository has no branch protection; nobody bypasses, admins included."""
    [environment] = _inputs_of(bootstrap_run, ENVIRONMENT, name)
    assert environment["deploymentBranchPolicy"] == {"protectedBranches": False, "customBranchPolicies": True}
    assert environment["canAdminsBypass"] is False
    policies = _inputs_of(bootstrap_run, POLICY, name)
    rule = DEPLOYMENT_RULES[name]
    assert sorted(p["branchPattern"] for p in policies if p.get("branchPattern")) == sorted(rule.branches)
    assert sorted(p["tagPattern"] for p in policies if p.get("tagPattern")) == sorted(rule.tags)


RULESET = github.RepositoryRuleset.pulumi_type


def _guarded_refs(run: OfflineRun) -> set[str]:
    """The refs a writer can neither create nor move: main (pull requests only, nobody bypasses) and
    what only the release managers create, update or delete."""
    guarded: set[str] = set()
    for ruleset in (r.plain_inputs() for r in run.of_type(RULESET)):
        rules = ruleset["rules"]
        reviewed = "pullRequest" in rules and not ruleset.get("bypassActors")
        release_managers_only = all(rules.get(rule) is True for rule in ("creation", "update", "deletion"))
        if reviewed or release_managers_only:
            guarded |= set(ruleset["conditions"]["refName"]["includes"])
    return guarded


@pytest.mark.parametrize("name", sorted(DEPLOYMENT_RULES))
def test_no_writer_can_create_a_ref_that_runs_a_job_in_an_environment(
    bootstrap_run: OfflineRun, name: str
) -> None:
    """Issue 29, findings 3 and 5: every branch or tag pattern an environment admits is one a ruleset
    keeps from writers, so no writer's branch runs with a deployer (sandbox's included)."""
    guarded = _guarded_refs(bootstrap_run)
    for policy in _inputs_of(bootstrap_run, POLICY, name):
        ref = (
            f"refs/heads/{policy['branchPattern']}"
            if policy.get("branchPattern")
            else f"refs/tags/{policy['tagPattern']}"
        )
        assert ref in guarded, f"{name} admits {ref}, which a writer can create"


def test_prod_waits_for_its_reviewers_and_nobody_approves_their_own_deployment(
    bootstrap_run: OfflineRun,
) -> None:
    [prod] = _inputs_of(bootstrap_run, ENVIRONMENT, Environment.PROD)
    assert prod["reviewers"] == [{"teams": [int(FAKE_GITHUB_TEAM_ID)]}]  # the example's team, looked up
    assert prod["preventSelfReview"] is True
    for name in set(DEPLOYMENT_RULES) - {Environment.PROD.value}:
        [environment] = _inputs_of(bootstrap_run, ENVIRONMENT, name)
        assert "reviewers" not in environment, name


def test_each_environment_logs_in_as_its_own_identity(
    bootstrap_run: OfflineRun, bootstrap_settings: BootstrapSettings
) -> None:
    """dev's jobs as dev's deployer, prod-preview's as the read-only release preview identity; every
    environment of the bootstrap has its deployer from the start (adopted or created), so its first
    deploy runs in CI; an environment outside the bootstrap's gets no client id rather than another's."""
    client_ids = {
        name: {s["secretName"]: s["value"] for s in _inputs_of(bootstrap_run, SECRET, name)}.get(
            "AZURE_CLIENT_ID"
        )
        for name in DEPLOYMENT_RULES
    }
    expected: dict[str, str | None] = {name: None for name in DEPLOYMENT_RULES}
    expected |= {
        env.value: fake_guid("client", f"deployer-{env}-identity") for env in bootstrap_settings.environments
    }
    expected[PROD_PREVIEW] = fake_guid("client", "release-preview-identity")
    assert client_ids == expected


def test_every_github_resource_goes_through_the_bootstraps_explicit_provider(
    bootstrap_run: OfflineRun,
) -> None:
    [provider] = bootstrap_run.of_type("pulumi:providers:github")
    assert "token" not in provider.plain_inputs(), "the provider reads GITHUB_TOKEN itself"
    on_github = [r for r in bootstrap_run.resources if r.type.startswith("github:")]
    assert on_github
    assert all(r.provider.startswith(provider.urn + "::") for r in on_github)
