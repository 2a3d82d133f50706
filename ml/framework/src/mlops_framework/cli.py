"""`<project>-mlops` (`iris-mlops`, `diabetes-mlops`): run a job of the project's job graph locally,
approve its challenger, or serve its champion like Databricks does."""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence

from rich.console import Console

from .errors import IrisMlopsError, ParameterError
from .job_graph import JobGraphError, load_job_graph
from .logs import configure_logging
from .params import parse_parameters
from .project import ProjectSpec
from .runner import Isolation, check_job_arguments, job_arguments, run_job

SERVE_PARAMETERS = ("env", "catalog", "schema", "model_name", "endpoint_name")
APPROVE_PARAMETERS = ("env", "catalog", "schema", "model_name")


def _parser(project: ProjectSpec) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=project.cli,
        description=f"Local front door of the {project.distribution} wheel (see docs/ml.md).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run jobs in order; extra --key=value arguments go to their tasks")
    jobs = ", ".join(sorted(key.replace("_", "-") for key in load_job_graph(project.package).jobs))
    run.add_argument("jobs", nargs="+", help=f"jobs of {project.distribution}'s job graph: {jobs}")
    run.add_argument(
        "--isolation",
        choices=[str(mode) for mode in Isolation],
        default=str(Isolation.IN_PROCESS),
        help="in-process (default, fast) or process (one process per task, as on Databricks)",
    )
    approve = commands.add_parser(
        "approve", help="an approver's step: tag the awaiting challenger approval=approved (docs/ml.md)"
    )
    approve.add_argument("--version", required=True, help="the challenger's version number")
    serve = commands.add_parser("serve", help="serve the champion at /serving-endpoints/<name>/invocations")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--poll-seconds",
        type=float,
        default=2.0,
        help="how often the champion alias is checked; a moved alias is loaded and swapped in (0: never)",
    )
    serve.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="record answered requests for the monitoring job (local backend; --no-record: do not)",
    )
    return parser


def _run(
    project: ProjectSpec,
    job_names: Sequence[str],
    isolation: str,
    arguments: Sequence[str],
    logger: logging.Logger,
) -> int:
    console = Console()
    graph = load_job_graph(project.package)
    try:
        jobs = [graph.job(name) for name in job_names]  # every name is checked before anything runs
    except JobGraphError as error:  # a usage error, as a bad parameter is: exit 2
        raise ParameterError(str(error)) from None
    check_job_arguments(jobs, arguments, project)  # ...and every parameter (exit 2, every problem at once)
    for job in jobs:
        report = run_job(
            job, job_arguments(job, arguments, project), Isolation(isolation), console, project=project
        )
        console.print(report.table())
        failed = report.failed_task
        if failed is not None:
            logger.error("job %s failed at task %r (%s)", report.job, failed.key, failed.detail)
            return 1
    return 0


def _serve(
    project: ProjectSpec, host: str, port: int, poll_seconds: float, *, record: bool, arguments: Sequence[str]
) -> int:
    # The scoring server (FastAPI, uvicorn, pyfunc) costs seconds of imports a job run never needs.
    from .serving import champion_app, serve_forever, serving_token  # noqa: PLC0415

    token = serving_token(host, os.environ)  # before anything loads: refused beyond loopback without one
    program = f"{project.cli} serve"
    params = parse_parameters(arguments, SERVE_PARAMETERS, program, defaults=project.defaults())
    serve_forever(champion_app(params, poll_seconds, project=project, record=record, token=token), host, port)
    return 0


def _approve(project: ProjectSpec, version: str, arguments: Sequence[str], logger: logging.Logger) -> int:
    """Tag the challenger as approved, as the person calling (on Databricks an approver, who holds
    APPLY TAG on the model); the release job then gates it again and deploys it."""
    # mlflow costs seconds of imports that `run` pays inside its tasks, not here.
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    from .backends import detect_backend_name, select_backend  # noqa: PLC0415
    from .context import TaskContext  # noqa: PLC0415
    from .entrypoints import REQUIRED_ON_DATABRICKS, require_parameters  # noqa: PLC0415
    from .gate import APPROVAL_TAG, APPROVED  # noqa: PLC0415
    from .vocabulary import CHALLENGER  # noqa: PLC0415

    program = f"{project.cli} approve"
    params = parse_parameters(arguments, APPROVE_PARAMETERS, program, defaults=project.defaults())
    if detect_backend_name(os.environ) == "databricks":
        require_parameters(arguments, REQUIRED_ON_DATABRICKS, program)
    context = TaskContext.create("approve-version", params, select_backend(), project)
    challenger = context.alias_version(CHALLENGER)
    if challenger is None or challenger.version != version:
        found = f"v{challenger.version}" if challenger is not None else "none"
        raise ParameterError(
            f"--version={version} is not the challenger of {context.model_name} (challenger: {found}); "
            "the release job deploys the challenger only"
        )
    try:
        context.client.set_model_version_tag(context.model_name, version, APPROVAL_TAG, APPROVED)
    except MlflowException as error:
        raise IrisMlopsError(
            f"could not tag {context.model_name} v{version} ({error.error_code}): an approver needs "
            "APPLY TAG on the model and USE SCHEMA/USE CATALOG on its parents, which the stack's "
            "approvers group holds (docs/ml.md, approval)"
        ) from error
    logger.info("%s v%s approved: now start the release job", context.model_name, version)
    return 0


def main(argv: Sequence[str] | None = None, *, project: ProjectSpec) -> None:
    logger = configure_logging()
    args, extra = _parser(project).parse_known_args(argv)
    try:
        if args.command == "run":
            code = _run(project, args.jobs, args.isolation, extra, logger)
        elif args.command == "approve":
            code = _approve(project, args.version, extra, logger)
        else:
            code = _serve(
                project, args.host, args.port, args.poll_seconds, record=args.record, arguments=extra
            )
    except (IrisMlopsError, JobGraphError) as error:
        logger.error("%s %s: %s", project.cli, args.command, error)
        code = error.exit_code
    if code:
        raise SystemExit(code)
