"""One row of the benchmark table: a measurement next to its baseline from the same run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    name: str
    value: float
    baseline_name: str
    baseline: float
    unit: str = "s"

    @property
    def ratio(self) -> float:
        """value / baseline: below 1 is faster than the baseline."""
        return self.value / self.baseline if self.baseline else float("nan")
