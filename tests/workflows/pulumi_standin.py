"""A stand-in ``pulumi`` for the pipeline rehearsal: it checks what the real CLI needs, then plans offline.

The rehearsal puts it on ``PATH`` in place of the CLI that ``pulumi/actions`` drives. It checks,
before any program runs, what the real CLI would need and fails with the CLI's own complaint:

- ``login <url>``: a backend URL (pulumi/actions src/login.ts runs ``pulumi login <cloud-url>``)
  the logged-in identity (the runner's ``az`` login, az_standin.py) may read: Azure's data plane,
  as the bootstrap granted it (REHEARSAL_STATE_ACCESS, client id -> containers). The URL is
  remembered as the CLI remembers it (~/.pulumi/credentials.json; here a file in the project), and
  a later ``preview``/``up`` of a stack whose state is elsewhere finds no such stack: each
  environment's state has its own container, the stack file's ``bootstrap.backendUrl``.
- ``stack select <stack> [--create --secrets-provider <url>]``, ``stack export``, and an ``up``
  of a stack the backend does not hold; the Databricks provider's sign-in to the stack's workspace
  during ``up`` (standin_state.py).
- The program's virtualenv and its toolchain's package listing. With ``toolchain: pip`` the Python
  language host runs the program with ``<virtualenv>/bin/python`` and discovers its plugins with
  ``<virtualenv>/bin/python -m pip list --format json`` (pulumi/pulumi sdk/python/toolchain/pip.go,
  ``ListPackages``; the engine reports a failure as "failed to discover package requirements",
  pkg/engine/plugins.go), then reads each package's ``pulumi-plugin.json``
  (sdk/python/cmd/pulumi-language-python/main.go, ``readAllPulumiPluginJSONPaths``).
- Each ``--policy-pack`` folder: its ``PulumiPolicy.yaml``, the virtualenv that file names, and the
  pack started inside it as the language host starts it, ``<venv>/bin/python -u -m pulumi.policy
  <engine> <pack>`` in the pack's folder (main.go, ``RunPlugin``). The pack prints the port it
  serves on (pulumi_policy/policy.py) and must list its policies over gRPC.
- The wheel in ``dist/`` the program reads, and the credentials the providers read from the
  environment (ARM_*). No GitHub token: no environment stack has a GitHub provider.
- The secrets manager: the stack file's ``secretsprovider`` if set, else a passphrase manager
  (``pkg/cmd/pulumi/stack/secrets.go``, no fallback to the state's manager by default), which
  needs PULUMI_CONFIG_PASSPHRASE and takes an empty one as the passphrase
  (``pkg/secrets/passphrase/manager.go``, ``os.LookupEnv``): the stand-in refuses that silent case.
- The self-managed backend's lock (``pkg/backend/diy/lock.go``): ``up`` writes a lock file under
  ``.pulumi/locks/<org>/<project>/<stack>/`` and refuses to start while another is there ("the
  stack is currently locked"); ``pulumi cancel`` deletes them all (``backend.go``,
  ``CancelCurrentUpdate``). The first SIGINT or SIGTERM cancels: nothing new starts, what is in
  flight ends, the lock goes; a second one terminates at once, leaving the lock
  (``pkg/backend/cancellation_scope.go``). The backend is the folder REHEARSAL_BACKEND.

Then it runs the program with the program's own interpreter through the offline engine
(``stacks.plan``), logged in to ``ARM_SUBSCRIPTION_ID``, and applies the policy pack to the plan:
a mandatory violation fails ``preview`` and ``up`` as the CLI would. The interpreter starts warm
from the rehearsal's plan server when it runs one (``REHEARSAL_PLAN_SERVER``; plan_server.py
says when a warm start is the same as a cold one), else cold. Read against pulumi/pulumi at
1b59498 (2026-08-21).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

# The CLI's cancellation scope exists from its start; Python's default SIGINT raises wherever the
# interpreter is (under load, inside the imports below). A signal before `cancellable()` is kept
# for it, so a deploy's `timeout` that fires during start-up still cancels rather than crashes.
SIGNALS: list[int] = []  # the SIGINT/SIGTERM received since the CLI started
signal.signal(signal.SIGINT, lambda number, _frame: SIGNALS.append(number))
signal.signal(signal.SIGTERM, lambda number, _frame: SIGNALS.append(number))

import standin_state  # noqa: E402
import yaml  # noqa: E402 - after the handlers: importing is the slow part of start-up
from plan_server import SERVER_VARIABLE, run_warm  # noqa: E402

PACK_START_SECONDS = 60
CREDENTIALS = ("ARM_CLIENT_ID", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID")
LOGIN_FILE = ".pulumi-standin-login"  # where `login` remembers its backend
PROVIDERS = ("pulumi", "pulumi-azure-native", "pulumi-databricks", "pulumi-github", "pulumiverse-time")
# Where each provider package's pulumi-plugin.json is, found as the language host finds it
# (main.go, pulumiPluginJSONPathsScript): by the package's module and its search locations.
PLUGIN_JSON = """
import importlib.util, json, os, sys
found = {}
for name in sys.argv[1:]:
    spec = importlib.util.find_spec(name.replace("-", "_"))
    places = (spec.submodule_search_locations or []) if spec else []
    found[name] = any(os.path.isfile(os.path.join(p, "pulumi-plugin.json")) for p in places)
print(json.dumps(found))
"""
# Runs inside the program's virtualenv, from the project folder, as the language host would.
PROGRAM = """
import os, sys
from infra.wheel import WheelError
from policy.check_plan import evaluate, mandatory
from stacks.loading import ConfigError
from stacks.plan import plan_stack
stack = sys.argv[1]
try:
    run = plan_stack(stack, subscription_id=os.environ["ARM_SUBSCRIPTION_ID"])
except (ConfigError, WheelError) as error:
    print(error)
    sys.exit(2)
blocking = mandatory(evaluate(run.resources, stack=stack, github_repository=os.environ["GITHUB_REPOSITORY"]))
print(f"program: {sum(r.custom for r in run.resources)} resources planned for {stack}; "
      f"policy pack: {len(blocking)} mandatory violation(s)")
for violation in blocking:
    print(f"  {violation}")
import json
logins = [p.plain_inputs() for p in run.of_type("pulumi:providers:databricks")]
print("databricks logins: " + json.dumps([
    {"authType": i.get("authType"), "azureClientId": i.get("azureClientId"),
     "workspaceResourceId": bool(i.get("azureWorkspaceResourceId"))} for i in logins]))
sys.exit(1 if blocking else 0)
"""
LOGINS = "databricks logins: "


class CliError(Exception):
    """What the real CLI would have stopped with."""


def say(message: str) -> None:
    sys.stdout.write(f"pulumi (stand-in): {message}\n")
    sys.stdout.flush()


def program_virtualenv(project: Path) -> Path:
    runtime = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8"))["runtime"]
    options = runtime.get("options") or {}
    if runtime.get("name") != "python" or options.get("toolchain", "pip") != "pip":
        raise CliError(f"only the python runtime with the pip toolchain is modelled, not {runtime!r}")
    python = project / options["virtualenv"] / "bin" / "python"
    if not python.is_file():
        virtualenv = options["virtualenv"]
        raise CliError(
            f"The 'virtualenv' option in Pulumi.yaml is set to {virtualenv!r}, but {python} doesn't exist"
        )
    return python


def list_packages(python: Path) -> None:
    command = [str(python), "-m", "pip", "list", "--format", "json"]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        called = " ".join(command)
        raise CliError(
            f"failed to discover package requirements: calling `{called}`: {result.stderr.strip()}"
        )
    # Compared by normalised name, as the toolchain does (normalizePythonPackageName).
    packages = {re.sub(r"[-_.]+", "-", p["name"]).lower() for p in json.loads(result.stdout)}
    missing = [name for name in PROVIDERS if name not in packages]
    if missing:
        raise CliError(f"{python} -m pip list does not list {missing}: the program's plugins cannot be found")
    result = subprocess.run(
        [str(python), "-c", PLUGIN_JSON, *PROVIDERS[1:]], capture_output=True, text=True, check=False
    )
    plugins = json.loads(result.stdout or "{}")
    venv_name = python.parent.parent.name
    with_json = ", ".join(name for name, found in plugins.items() if found)
    listing = f"`{venv_name}/bin/python -m pip list` lists {len(packages)} packages"
    say(f"toolchain pip: {listing}; plugins: {with_json}")
    if not all(plugins.get(name) for name in PROVIDERS[1:]):
        raise CliError(f"no pulumi-plugin.json for some of {PROVIDERS[1:]}: {plugins}")


def policy_pack_python(pack: Path) -> Path:
    """The interpreter the CLI starts ``pack`` with: ``<pack>/<virtualenv>/bin/python``."""
    project_file = pack / "PulumiPolicy.yaml"
    if not project_file.is_file():
        raise CliError(f"failed to load Pulumi policy project located at {str(pack)!r}: no PulumiPolicy.yaml")
    runtime = yaml.safe_load(project_file.read_text(encoding="utf-8"))["runtime"]
    virtualenv = (runtime.get("options") or {}).get("virtualenv")
    if runtime.get("name") != "python" or not virtualenv:
        raise CliError(f"{project_file}: only a python pack with its own virtualenv is modelled")
    python = pack / virtualenv / "bin" / "python"
    if not python.is_file():
        raise CliError(
            f"policy pack {pack.name!r} failed to start: {python.relative_to(pack.parent)} does not exist "
            f"(PulumiPolicy.yaml names virtualenv {virtualenv!r}; the CLI does not create it)"
        )
    return python


def start_policy_pack(pack: Path, python: Path) -> None:
    """Start the pack as the language host does and ask it, over gRPC, which policies it holds."""
    # Imported here: gRPC and Pulumi's protocol (which imports the pulumi SDK) cost ~0.2 s of CPU,
    # and most of the stand-in's runs (`login`, a check that fails first) never talk to a pack.
    import grpc  # noqa: PLC0415
    from google.protobuf import empty_pb2  # noqa: PLC0415
    from pulumi.runtime.proto import analyzer_pb2_grpc  # noqa: PLC0415

    command = [str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(pack.resolve())]
    with subprocess.Popen(
        command, cwd=pack, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            port = (process.stdout.readline() if process.stdout else "").strip()
            if not port.isdigit():
                process.kill()
                error = process.communicate()[1].strip()[-2000:]
                raise CliError(f"policy pack {pack.name!r} failed to start: {error}")
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = analyzer_pb2_grpc.AnalyzerStub(channel)
                info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=PACK_START_SECONDS)
        finally:
            process.kill()
    if not info.policies:
        raise CliError(f"policy pack {pack.name!r} has no policies")
    virtualenv = python.parent.parent.relative_to(pack.parent)
    say(f"policy pack {info.name!r} loads in {virtualenv} with {len(info.policies)} policies")


def refresh_text(project: Path, flag: str | None) -> str:
    """Whether the run refreshes, decided as pulumi/pulumi decides it: an explicit --refresh[=value]
    (or its environment form PULUMI_OPTION_REFRESH, pkg/cmd/pulumi/pulumi.go,
    declareFlagsAsEnvironmentVariables) wins, else Pulumi.yaml's `options.refresh: always`
    (pkg/cmd/pulumi/operations/io.go, getRefreshOption)."""
    explicit = flag if flag is not None else os.environ.get("PULUMI_OPTION_REFRESH")
    if explicit is not None:
        return f"{'on' if explicit.lower() in ('true', '1') else 'off'} (--refresh={explicit})"
    options = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8")).get("options") or {}
    return "on (Pulumi.yaml refresh: always)" if options.get("refresh") == "always" else "off"


def check_passphrase(stack: str) -> None:
    """A passphrase secrets manager needs PULUMI_CONFIG_PASSPHRASE[_FILE]; the stand-in refuses the
    empty one the real CLI silently accepts."""
    if "PULUMI_CONFIG_PASSPHRASE" not in os.environ and not os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        raise CliError(
            "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE "
            "environment variables"
        )
    if not os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE") and not os.environ["PULUMI_CONFIG_PASSPHRASE"]:
        raise CliError(
            f"Pulumi.{stack}.yaml names no secrets provider and PULUMI_CONFIG_PASSPHRASE is empty: "
            "the real CLI takes the empty string as the passphrase and encrypts the stack with it"
        )


def check_environment(project: Path, stack: str) -> None:
    needed = list(CREDENTIALS)
    stack_file = yaml.safe_load((project / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")) or {}
    provider = str(stack_file.get("secretsprovider") or "passphrase")
    if provider == "passphrase":
        check_passphrase(stack)
    empty = [name for name in needed if not os.environ.get(name)]
    if empty:
        raise CliError(f"empty in the environment of `pulumi`: {', '.join(empty)}")
    say(f"credentials present: {', '.join(needed)}; secrets provider: {provider.split('://', maxsplit=1)[0]}")


def check_state_access(url: str) -> None:
    """The logged-in identity has a blob data role on the URL's container (when the rehearsal says
    who has which; the lock tests' own calls do not)."""
    access = os.environ.get("REHEARSAL_STATE_ACCESS")
    if access is None:
        return
    container = re.sub(r"^azblob://([^?]+)\?.*$", r"\1", url)
    # gocloud.dev's azureblob reads no ARM_* variable: DefaultAzureCredential, i.e. the runner's `az`
    # login (blob/azureblob/azureblob.go, newCredInfoFromEnv); ARM_CLIENT_ID for direct calls.
    login = Path(os.environ.get("AZURE_CONFIG_DIR", "/nonexistent")) / "standin-login.json"
    client = (
        json.loads(login.read_text())["clientId"] if login.is_file() else os.environ.get("ARM_CLIENT_ID", "")
    )
    if container not in json.loads(access).get(client, []):
        raise CliError(f"Azure refuses {client} the state container {container}: no blob data role there")


def check_backend(project: Path, stack: str) -> None:
    """The stack lives in the backend this job logged in to (or PULUMI_BACKEND_URL names, which wins
    over the login: pulumi/pulumi pkg/workspace/creds.go, GetCurrentCloudURL): its own container."""
    login = project / LOGIN_FILE
    backend = os.environ.get("PULUMI_BACKEND_URL") or (
        login.read_text(encoding="utf-8") if login.is_file() else None
    )
    config = (yaml.safe_load((project / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")) or {})["config"]
    own = (config.get("mlops-platform:bootstrap") or {}).get("backendUrl")
    if backend is None:
        return  # not logged in through this stand-in (the lock tests call it directly)
    if backend != own:
        raise CliError(f"no stack named '{stack}' found in {backend} (its state is in {own})")
    say(f"logged in to the stack's own state: {backend}")


def check_stack_exists(project: Path, stack: str) -> None:
    """A preview or an update needs its stack in the backend."""
    try:
        standin_state.require_stack(Path(os.environ["REHEARSAL_BACKEND"]), project, stack)
    except standin_state.StateError as error:
        raise CliError(str(error)) from None


def lock_dir(project: Path, stack: str) -> Path:
    name = yaml.safe_load((project / "Pulumi.yaml").read_text(encoding="utf-8"))["name"]
    return Path(os.environ["REHEARSAL_BACKEND"]) / ".pulumi" / "locks" / "organization" / name / stack


def take_lock(project: Path, stack: str) -> Path:
    locks = lock_dir(project, stack)
    held = sorted(locks.glob("*.json")) if locks.is_dir() else []
    if held:
        raise CliError(
            f"the stack is currently locked by {len(held)} lock(s). Either wait for the other "
            "process(es) to end or delete the lock file with `pulumi cancel`."
        )
    locks.mkdir(parents=True, exist_ok=True)
    lock = locks / f"{uuid.uuid4()}.json"
    lock.write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
    return lock


def cancellable() -> None:
    """As the CLI's cancellation scope, from the start of the operation: the first signal cancels,
    a second terminates at once, leaving the lock (pkg/backend/cancellation_scope.go)."""

    def interrupted(number: int, _frame: object) -> None:
        if SIGNALS:
            say("^C received; terminating")
            os._exit(255)
        SIGNALS.append(number)
        say("^C received; cancelling. If you would like to terminate immediately, press ^C again.")

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    if SIGNALS:  # received during start-up: the scope cancels as soon as it exists
        say("^C received; cancelling. If you would like to terminate immediately, press ^C again.")


def apply_update(lock: Path) -> None:
    """The update's steps (REHEARSAL_UP_SECONDS of them, one a second): none starts once cancelled."""
    say("applying the update")
    for _ in range(int(os.environ.get("REHEARSAL_UP_SECONDS", "0"))):
        if SIGNALS:
            break
        time.sleep(1)  # one step in flight, then the next
    lock.unlink()
    if SIGNALS:
        raise CliError("update canceled: the in-flight step finished, the state is saved, the lock released")


def run(args: argparse.Namespace, rest: list[str]) -> None:
    project = Path(args.cwd or ".").resolve()
    if args.command == "login":
        if not rest or not rest[0]:
            raise CliError("login: no backend URL (cloud-url) reached the step")
        check_state_access(rest[0])
        (project / LOGIN_FILE).write_text(rest[0], encoding="utf-8")
        say(f"logged in to {rest[0]}")
        return
    if args.command == "cancel":
        for lock in sorted(lock_dir(project, args.stack).glob("*.json")):
            lock.unlink()
        say(f"the currently running update for '{args.stack}' has been canceled")
        return
    if args.command == "stack":
        stack_command(project, args, rest)
        return
    if args.command not in ("preview", "up"):
        raise CliError(f"`pulumi {args.command}` is not modelled")
    preview_or_up(project, args)


def preview_or_up(project: Path, args: argparse.Namespace) -> None:
    # Cheap checks first, then the ones that start interpreters.
    python = program_virtualenv(project)
    packs = {project / pack: policy_pack_python(project / pack) for pack in args.policy_pack}
    wheels = sorted((project / "dist" / "iris").glob("*.whl"))
    if not wheels:
        raise CliError(
            "the program stops before registering anything: "
            "no wheel in dist/iris/ (run `make wheel` in this job)"
        )
    check_environment(project, args.stack)
    check_backend(project, args.stack)
    check_stack_exists(project, args.stack)
    say(f"refresh: {refresh_text(project, args.refresh)}")
    list_packages(python)
    for pack, pack_python in packs.items():
        start_policy_pack(pack, pack_python)
    say(f"wheel: dist/iris/{wheels[-1].name}")
    # An update locks the stack first; a preview takes no lock (diy backend.go, Preview).
    if args.command == "up":
        cancellable()
    lock = take_lock(project, args.stack) if args.command == "up" else None
    code, output = run_program(python, project, args.stack)
    for line in output.strip().splitlines():
        say(line)
    reason = f"program exit code {code}"
    if code == 0 and lock is not None:
        code, reason = sign_in_to_the_workspace(args.stack, output)
    if code != 0:
        if lock is not None:
            lock.unlink()
        raise CliError(f"`pulumi {args.command} --stack {args.stack}` failed ({reason})")
    if lock is not None:
        apply_update(lock)


def sign_in_to_the_workspace(stack: str, output: str) -> tuple[int, str]:
    """The update's first Databricks request, as the program's provider makes it (standin_state.py);
    only in a rehearsed job (the lock tests' own calls say nothing about who may sign in)."""
    if os.environ.get("REHEARSAL_STATE_ACCESS") is None:
        return 0, ""
    (line,) = [line for line in output.splitlines() if line.startswith(LOGINS)]
    logins = json.loads(line.removeprefix(LOGINS))
    try:
        said = standin_state.sign_in(
            Path(os.environ["REHEARSAL_BACKEND"]), stack, logins, Path(os.environ["AZURE_CONFIG_DIR"])
        )
    except standin_state.StateError as error:
        return 1, f"Databricks: {error}"
    say(f"Databricks provider signs in to the {stack} workspace as {said}")
    return 0, ""


def stack_command(project: Path, args: argparse.Namespace, rest: list[str]) -> None:
    """``stack select <stack> [--create --secrets-provider <url>]`` and ``stack export --stack <stack>``."""
    backend = Path(os.environ["REHEARSAL_BACKEND"])
    try:
        if rest[:1] == ["select"] and len(rest[1:]) == 1:  # `select <stack>`
            check_backend(project, rest[1])
            provider = args.secrets_provider or "default"
            if args.create and provider in ("default", "passphrase"):
                check_passphrase(rest[1])  # the DIY backend's default manager (DefaultSecretManager)
            say(standin_state.select(backend, project, rest[1], create=args.create, provider=provider))
        elif rest == ["export"] and args.stack:
            sys.stdout.write(json.dumps(standin_state.require_stack(backend, project, args.stack)) + "\n")
        else:
            raise CliError(f"`pulumi stack {' '.join(rest)}` is not modelled")
    except standin_state.StateError as error:
        raise CliError(str(error)) from None


def run_program(python: Path, project: Path, stack: str) -> tuple[int, str]:
    """``python -c PROGRAM <stack>`` in the project: warm from the session's plan server when the
    rehearsal runs one and it takes the run (plan_server.py), else a cold interpreter."""
    if address := os.environ.get(SERVER_VARIABLE):
        warm = run_warm(address, python, project, PROGRAM, [stack])
        if isinstance(warm, tuple):
            say("program started warm: the plan server's SDKs are the files the program's venv links")
            return warm
        say(f"program started cold: the plan server refused ({warm})")
    result = subprocess.run(
        [str(python), "-c", PROGRAM, stack], cwd=project, capture_output=True, text=True, check=False
    )
    return result.returncode, result.stdout + result.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pulumi")
    parser.add_argument("--non-interactive", action="store_true")
    parser.add_argument("--cwd")
    parser.add_argument("command")
    parser.add_argument("--stack")
    parser.add_argument("--policy-pack", action="append", default=[])
    parser.add_argument("--refresh", nargs="?", const="true")
    parser.add_argument("--create", action="store_true")
    parser.add_argument("--secrets-provider")
    for flag in ("--diff", "--yes", "--skip-preview"):
        parser.add_argument(flag, action="store_true")
    args, rest = parser.parse_known_args(argv)
    called = " ".join(["pulumi", *(argv if argv is not None else sys.argv[1:])])
    # `stack export` prints the state alone on stdout: it is piped into the deployer-move guard.
    (sys.stderr if rest == ["export"] else sys.stdout).write(f"pulumi (stand-in): {called}\n")
    try:
        run(args, rest)
    except CliError as error:
        (sys.stderr if rest == ["export"] else sys.stdout).write(f"error: {error}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
