"""Run the real Pulumi program offline under Pulumi's mocks and record every registration.

This is the engine behind ``python -m stacks.plan`` and the infrastructure tests. A
``MockMonitor`` subclass sees each ``RegisterResource`` request whole (type, name, parent,
protect, dependencies, options, inputs), which ``Mocks.new_resource`` alone does not.

What a run produced is ``stacks/offline_record.py``; what the mocks answer,
``stacks/offline_fakes.py``; a stack file as the CLI's config, ``stacks/offline_config.py``. This
module re-exports their public names, the one import of every test that plans.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings

from stacks.offline_config import SECRET_PLACEHOLDER, stack_config_from_file
from stacks.offline_fakes import (
    CALL_RESULTS,
    FAKE_CLIENT_ID,
    FAKE_GITHUB_TEAM_ID,
    FAKE_GITHUB_USER_ID,
    FAKE_OBJECT_ID,
    FAKE_OUTPUTS,
    FAKE_SUBSCRIPTION_ID,
    FAKE_TENANT_ID,
    STACK_REFERENCE,
    WorkspaceState,
    fake_guid,
    fake_id,
)
from stacks.offline_record import OfflineRun, RecordedResource

__all__ = [  # the fakes are re-exported: tests compare recorded inputs with them
    "CALL_RESULTS",
    "FAKE_CLIENT_ID",
    "FAKE_GITHUB_TEAM_ID",
    "FAKE_GITHUB_USER_ID",
    "FAKE_OBJECT_ID",
    "FAKE_OUTPUTS",
    "FAKE_SUBSCRIPTION_ID",
    "FAKE_TENANT_ID",
    "SECRET_PLACEHOLDER",
    "OfflineRun",
    "RecordedResource",
    "WorkspaceState",
    "fake_guid",
    "fake_id",
    "run_offline",
    "stack_config_from_file",
]  # fmt: skip

CLIENT_CONFIG = "azure-native:authorization:getClientConfig"
# The self-managed backend's one organization (pulumi/pulumi pkg/backend/diy/store.go).
ORGANIZATION = "organization"


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, subscription_id: str, workspace: WorkspaceState) -> None:
        self.subscription_id = subscription_id
        self.workspace = workspace
        self.registered: list[RecordedResource] = []  # the monitor's record, for invoke answers
        self.invoked: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.typ == STACK_REFERENCE:  # a read: the outputs of the stack's last update
            outputs = self.workspace.stack_outputs()
            return args.name, {"name": args.inputs.get("name"), "outputs": outputs, "secretOutputNames": []}
        # Auto-named resources get their logical name, as a provider's `name` output would be.
        state = {"name": args.name, **args.inputs}
        fake = FAKE_OUTPUTS.get(args.typ)
        if fake is not None:
            state.update(fake(args.name, dict(args.inputs)))
        return fake_id(args.typ, args.name), state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        # No failures is an empty list: MockMonitor.Invoke iterates it (None crashes every invoke).
        self.invoked.append(args.token)
        registered = [(r.type, r.plain_inputs()) for r in self.registered]
        answer = self.workspace.invoke_result(args.token, dict(args.args), registered)
        result = answer if answer is not None else dict(CALL_RESULTS.get(args.token, {}))
        if args.token == CLIENT_CONFIG:
            result["subscriptionId"] = self.subscription_id
        return result, []


class _Messages(logging.Handler):
    """What the program logs (pulumi.log), as the engine would show it: severity and text."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)  # the SDK logs its own steps at debug
        self.messages: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelname.lower(), record.getMessage()))


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: _Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = mocks.registered
        self.names: dict[str, str] = {}
        self.aliases: dict[str, tuple[str, ...]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        self.names[response.urn] = request.name
        self.aliases[response.urn] = self._alias_urns(request)
        if request.type != "pulumi:pulumi:Stack":
            self.recorded.append(_record(request, response.urn, self.aliases[response.urn]))
        return response

    def _alias_urns(self, request: Any) -> tuple[str, ...]:
        """The URNs the engine would take as this resource's former ones, in the mocks' URN scheme.

        As pulumi/pulumi pkg/resource/deploy/step_generator.go does: each alias spec defaults its
        name, type and parent to the resource's own (a parent that itself moved, to its former
        URN); and every alias of the parent gives the child one, the parent's name prefix of the
        child's name swapped for the alias's (inheritedChildAlias). Left out: the aliases a
        provider SDK adds of a resource type's former tokens (azure-native's API versions), which
        rename nothing.
        """
        parent = request.parent
        parent_former = self.aliases.get(parent, ())
        urns: list[str] = []
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            if spec.type and not (spec.name or spec.parentUrn or spec.noParent):
                continue  # a provider's own alias of a former type token: it moves no resource
            if spec.noParent:
                alias_parent = ""
            else:
                alias_parent = spec.parentUrn or (parent_former[0] if parent_former else parent)
            urns.append(self.make_urn(alias_parent, spec.type or request.type, spec.name or request.name))
        parent_name = self.names.get(parent, "")
        for former in parent_former:
            name = request.name
            if parent_name and name.startswith(parent_name):
                name = former.rsplit("::", 1)[1] + name.removeprefix(parent_name)
            urns.append(self.make_urn(former, request.type, name))
        return tuple(dict.fromkeys(urns))


def _record(request: Any, urn: str, aliases: tuple[str, ...] = ()) -> RecordedResource:
    timeouts = request.customTimeouts
    options: dict[str, Any] = {
        "ignoreChanges": sorted(request.ignoreChanges),
        "replaceOnChanges": sorted(request.replaceOnChanges),
        "additionalSecretOutputs": sorted(request.additionalSecretOutputs),
        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
        "retainOnDelete": bool(request.retainOnDelete),
        "importId": request.importId,
        "customTimeouts": {
            k: v
            for k, v in (
                ("create", timeouts.create),
                ("update", timeouts.update),
                ("delete", timeouts.delete),
            )
            if v
        },
    }
    return RecordedResource(
        urn=urn,
        type=request.type,
        name=request.name,
        parent=request.parent,
        custom=bool(request.custom),
        protect=bool(request.protect),
        dependencies=tuple(sorted(set(request.dependencies))),
        provider=request.provider,
        inputs=rpc.deserialize_properties(request.object),
        options=options,
        aliases=aliases,
    )


def run_offline(
    program: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: frozenset[str] = frozenset(),
    subscription_id: str = FAKE_SUBSCRIPTION_ID,
    workspace: WorkspaceState | None = None,
    dry_run: bool = True,
) -> OfflineRun:
    """Run ``program`` as ``pulumi preview`` would, against mocks, and return what it registered.

    ``config`` maps fully qualified keys (``project:key``) to the strings the CLI would pass
    (structured values JSON-encoded). ``subscription_id`` is the Azure subscription the run is
    logged in to, as ``getClientConfig`` reports it. Each run gets a fresh event loop and a fresh
    root stack.
    ``workspace`` is what the Databricks invokes find (default: a brand-new environment).
    ``dry_run=False`` runs it as ``pulumi up`` runs it (``pulumi.runtime.is_dry_run()`` is false).
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The provider SDKs are ~400k long-lived objects (pulumi_databricks alone is 12 MB of generated
    # classes): every collection of the oldest generation during a run walks them all and finds
    # nothing to free there. A run is short and frees its own garbage when it ends, so the collector
    # pauses for the run (halves its CPU time) and catches up afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _reset_engine_state()
        pulumi.runtime.set_all_config(dict(config), sorted(secret_keys))
        mocks = _Mocks(subscription_id, workspace or WorkspaceState())
        monitor = _RecordingMonitor(mocks)
        logger, messages = logging.getLogger(f"{__name__}.{stack}"), _Messages()
        logger.propagate, logger.level = False, logging.DEBUG
        logger.handlers = [messages]
        pulumi.runtime.set_mocks(
            monitor.mocks,
            project=project,
            stack=stack,
            preview=dry_run,
            monitor=monitor,
            logger=logger,
            organization=ORGANIZATION,
        )
        try:
            program()
        finally:
            # As the SDK's run_pulumi_func (pulumi/runtime/stack.py): whatever the program
            # registered before it raised still reaches the engine, which a `pulumi up` creates,
            # before the error is reported. A run that fails half-way shows it here too.
            loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
        exports, secret_exports = loop.run_until_complete(_resolve_exports())
        return OfflineRun(
            stack,
            list(monitor.recorded),
            exports,
            frozenset(secret_exports),
            tuple(messages.messages),
            tuple(mocks.invoked),
        )
    finally:
        # A run that raised (bad config) leaves RPCs pending on this loop; cancel them and forget
        # them, or the next run's wait_for_rpcs waits forever on futures of a closed loop.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        _reset_engine_state()
        pulumi.runtime.set_all_config({}, [])
        asyncio.set_event_loop(None)
        loop.close()
        if collecting:
            gc.enable()


def _reset_engine_state() -> None:
    """What pulumi.runtime.mocks.test clears between tests, plus the root stack resource."""
    pulumi_settings.ROOT.set(None)
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()


async def _resolve_exports() -> tuple[dict[str, Any], set[str]]:
    root = pulumi_settings.get_root_resource()
    outputs: dict[str, Any] = getattr(root, "outputs", {}) or {}
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        values[key] = await output.future(with_unknowns=True)
        if await output.is_secret():
            secret.add(key)
    return values, secret
