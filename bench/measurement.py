"""One row of the benchmark table: a measurement next to its baseline from the same run."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float
    baseline_name: str
    baseline: float
    unit: str = "s"
    # Measured in alternating rounds: the median of each round's ratio, not the ratio of the medians
    # (a round's two figures saw the same machine load).
    median_of_rounds: float | None = None

    @property
    def ratio(self) -> float:
        """value / baseline: below 1 is faster than the baseline."""
        if self.median_of_rounds is not None:
            return self.median_of_rounds
        return self.value / self.baseline if self.baseline else float("nan")


def render(rows: list[Measurement], seconds: float, load: float) -> Table:
    # Other processes skew the ratios: the load average says how busy the machine was.
    table = Table(title=f"make bench ({seconds:.0f} s, load average {load:.1f} at the end)")
    for column, justify in (
        ("measurement", "left"),
        ("value", "right"),
        ("baseline", "left"),
        ("baseline value", "right"),
        ("ratio", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            row.name,
            f"{row.value:.3g} {row.unit}",
            row.baseline_name,
            f"{row.baseline:.3g} {row.unit}",
            f"{row.ratio:.2f}x",
        )
    return table
