"""The bootstrap's physical names fit Azure's budgets for every prefix the settings accept."""

from __future__ import annotations

from infra.bootstrap_naming import BOOTSTRAP_NAME_RULES, BootstrapKind, bootstrap_names
from infra.naming import max_prefix_length

SUBSCRIPTION = "00000000-0000-4000-8000-0000000000b0"


def test_the_longest_accepted_prefix_gives_valid_names() -> None:
    prefix = "a" * max_prefix_length()
    names = bootstrap_names(prefix, "contoso", "mlops-platform", subscription_id=SUBSCRIPTION)
    for kind in BootstrapKind:
        name = getattr(names, kind.name.lower())
        assert BOOTSTRAP_NAME_RULES[kind].problem(kind, name) is None, (kind, name)


def test_globally_unique_names_differ_per_repository_and_subscription() -> None:
    ours = bootstrap_names("mlops", "contoso", "mlops-platform", subscription_id=SUBSCRIPTION)
    theirs = bootstrap_names("mlops", "fabrikam", "mlops-platform", subscription_id=SUBSCRIPTION)
    elsewhere = bootstrap_names(
        "mlops", "contoso", "mlops-platform", subscription_id="11111111-1111-4111-8111-111111111111"
    )
    assert (
        len({ours.state_storage_account, theirs.state_storage_account, elsewhere.state_storage_account}) == 3
    )
    assert len({ours.secrets_vault, theirs.secrets_vault, elsewhere.secrets_vault}) == 3
    # Deterministic: the same inputs always give the same names (no surprise replacement).
    assert ours == bootstrap_names("mlops", "Contoso", "MLOps-Platform", subscription_id=SUBSCRIPTION)
