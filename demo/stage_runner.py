"""Run named stages in order with a progress display and a timing per stage."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table


class StageError(RuntimeError):
    """A stage could not complete; the message says what to do about it."""


@dataclass(frozen=True)
class StageResult:
    """What a stage reports: one line for the summary table, and optional detail to show."""

    summary: str
    details: RenderableType | None = None
    facts: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    run: Callable[[], StageResult]


@dataclass(frozen=True)
class StageOutcome:
    stage: Stage
    seconds: float
    result: StageResult | None
    error: str | None = None


def run_stages(stages: Sequence[Stage], console: Console) -> list[StageOutcome]:
    """Run every stage in order; stop at the first failure and report which one it was."""
    outcomes: list[StageOutcome] = []
    for number, stage in enumerate(stages, start=1):
        console.rule(f"[bold]{number}/{len(stages)} {stage.title}")
        started = time.perf_counter()
        try:
            with console.status(f"{stage.title}…"):
                result = stage.run()
        except StageError as failure:
            elapsed = time.perf_counter() - started
            console.print(f"[red]✗ {stage.title} failed after {elapsed:.1f}s:[/red] {failure}")
            outcomes.append(StageOutcome(stage, elapsed, None, str(failure)))
            break
        elapsed = time.perf_counter() - started
        if result.details is not None:
            console.print(result.details)
        # A summary is text, not markup: `projects[iris].wheelVersion` must print as written.
        console.print(f"[green]✓[/green] {escape(result.summary)} [dim]({elapsed:.1f}s)[/dim]")
        outcomes.append(StageOutcome(stage, elapsed, result))
    return outcomes


def timing_table(outcomes: Sequence[StageOutcome]) -> Table:
    table = Table(title="make demo", show_footer=True)
    table.add_column("stage", footer="total")
    table.add_column("result")
    table.add_column("seconds", justify="right", footer=f"{sum(o.seconds for o in outcomes):.1f}")
    for outcome in outcomes:
        status = (
            escape(outcome.result.summary) if outcome.result else f"[red]FAILED: {escape(str(outcome.error))}"
        )
        table.add_row(outcome.stage.title, status, f"{outcome.seconds:.1f}")
    return table
