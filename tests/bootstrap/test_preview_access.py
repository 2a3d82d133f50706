"""Each environment grants its preview identity what a preview reads, and nothing that writes.

The identity's ids come from the bootstrap outputs through the declared interface (config section
``mlops-platform:bootstrap``); a stack without them fails before anything is registered, naming the key.
"""

from __future__ import annotations

import pytest
from bootstrap_support import ROLE_ASSIGNMENT, grants_of, role_name

from core.environment import Environment
from infra.bootstrap_interface import interface_keys
from infra.preview_access import PREVIEW_AZURE_ROLE
from stacks.loading import ConfigError, build_settings
from stacks.offline import FAKE_SUBSCRIPTION_ID, OfflineRun
from stacks.offline_fakes import fake_id

READ_ONLY_ROLES = frozenset({"Reader", "Storage Blob Data Reader", "Key Vault Crypto User"})
VALUES = {
    "platform": {"subscriptionId": FAKE_SUBSCRIPTION_ID},
    "github": {"owner": "acme", "repository": "mlops"},
    "databricks": {
        "failureNotificationEmails": ["oncall@example.com"],
        "accountId": "00000000-0000-4000-8000-00000000acc0",
    },
    "bootstrap": {
        "previewPrincipalId": "00000000-0000-4000-8000-0000000000e1",
        "previewClientId": "00000000-0000-4000-8000-0000000000e2",
        "deployerPrincipalId": "00000000-0000-4000-8000-0000000000d1",
        "deployerClientId": "00000000-0000-4000-8000-0000000000f1",
        "backendUrl": "azblob://pulumi-state-dev?storage_account=st",
    },
    "projects": [{"name": "iris", "path": "ml"}],
}


def _preview_principal(run: OfflineRun) -> str:
    preview = run.named("preview-access-reader").plain_inputs()["principalId"]
    assert isinstance(preview, str)
    return preview


@pytest.mark.parametrize("environment", list(Environment))
def test_preview_identity_reads_the_environments_resource_group_and_nothing_else(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    run = plans[environment]
    group = fake_id("azure-native:resources:ResourceGroup", "platform-group-rg")
    assert grants_of(run, _preview_principal(run)) == [(PREVIEW_AZURE_ROLE, group)]


@pytest.mark.parametrize("environment", list(Environment))
def test_preview_identity_never_holds_a_role_that_writes(
    plans: dict[Environment, OfflineRun], environment: Environment
) -> None:
    run = plans[environment]
    preview = _preview_principal(run)
    roles = {role_name(r) for r in run.of_type(ROLE_ASSIGNMENT) if r.plain_inputs()["principalId"] == preview}
    assert roles <= READ_ONLY_ROLES
    assert preview != run.exports["deployerPrincipalId"]  # the test would prove nothing otherwise


@pytest.mark.parametrize("missing", interface_keys())
def test_a_missing_bootstrap_output_names_the_key(missing: str) -> None:
    bootstrap = {k: v for k, v in VALUES["bootstrap"].items() if k != missing}
    with pytest.raises(ConfigError) as error:
        build_settings("dev", {**VALUES, "bootstrap": bootstrap})
    [problem] = error.value.problems
    assert problem.key == f"bootstrap.{missing}"
    assert (
        f"`make bootstrap` (python -m bootstrap.handoff) from the bootstrap stack's output "
        f"environments.<env>.{missing}"
    ) in problem.message


def test_a_stack_without_the_bootstrap_section_says_what_writes_it() -> None:
    values = {k: v for k, v in VALUES.items() if k != "bootstrap"}
    with pytest.raises(
        ConfigError, match=r"mlops-platform:bootstrap = \(missing\): required; .*make bootstrap"
    ):
        build_settings("dev", values)


def test_a_bootstrap_output_that_is_not_a_guid_is_refused() -> None:
    values = {**VALUES, "bootstrap": {**VALUES["bootstrap"], "previewClientId": "preview"}}
    with pytest.raises(ConfigError, match=r"bootstrap.previewClientId = \"preview\""):
        build_settings("dev", values)
