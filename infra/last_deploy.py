"""What exists is decided from what the stack's own last ``pulumi up`` recorded, never from who looks.

Two objects of a project can only be created once a job has run: the serving endpoint needs a
model version (the training job sets the ``champion`` alias), the quality monitor needs the
predictions table (the batch job writes it). Reading the workspace answers differently for
different identities: the PR preview identity holds BROWSE only, and ``get_tables`` lists only
tables the caller owns or may SELECT (it sends no ``include_browse``: terraform-provider-databricks
``catalog/data_tables.go``; Unity Catalog ListTables), while whether a browse-only
``get_registered_model`` returns aliases is not documented. Had a lookup decided existence, every
uat/prod preview would have planned to delete the monitor, and prod's protected endpoint would have
failed every PR (pulumi/pulumi ``pkg/resource/deploy/step.go``: the protect check runs before the
dry-run branch).

So a lookup only ever *adds*: once a ``pulumi up`` created the object, the stack's outputs record
it (stacks/last_deploy.py reads them back through the stack's own StackReference, from the state
every identity that may run the program reads alike) and the object is registered from that record
without asking the workspace again. Removing one is a settings change
(``databricks.createServingEndpoint``, ``databricks.modelMonitoring``), never a lookup's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from infra.base import ComponentArgs


class DeployedObjects(ComponentArgs):
    """One project's objects the last ``pulumi up`` created, as the stack's outputs record them."""

    endpoint_version: pulumi.Output[str | None]  # the version the endpoint was created on; None: none yet
    monitored_table: pulumi.Output[str | None]  # the table the monitor watches; None: no monitor yet


def recorded_or_looked_up(
    recorded: pulumi.Output[str | None], look_up: Callable[[], pulumi.Output[str | None]]
) -> pulumi.Output[str | None]:
    """``recorded`` when the last ``pulumi up`` recorded the object; only otherwise ``look_up()``.

    The workspace is asked only about what does not exist yet, so an identity that cannot read it
    can at most not see a creation; it never plans a deletion.
    """
    return recorded.apply(lambda value: pulumi.Output.from_input(value) if value is not None else look_up())


@dataclass(frozen=True)
class Champion:
    """What ``get_registered_model`` told of the ``champion`` alias."""

    version: str | None
    # The caller may only browse the model (include_browse): its aliases may be left out.
    browse_only: bool = False


def undecidable(what: str, reason: str) -> None:
    """A lookup that cannot decide a creation: a warning in a preview, an error in an update.

    In a preview (the PR preview identity) an error would fail a required check on every PR until
    the next deploy; the deploy itself reads as the deployer, and there the same answer means the
    deployer lacks a grant it is given (infra/access.py), which must stop the update loudly.
    """
    message = f"{what}: {reason}"
    if pulumi.runtime.is_dry_run():
        pulumi.log.warn(f"{message}; this preview cannot tell, the deploy decides")
        return
    raise RuntimeError(f"{message}; the deployer must hold what infra/access.py grants it")
