"""What a gate reports: one outcome per expectation, and the result of a suite on a table.

Values of PII columns never reach a report: their outcomes carry no sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SAMPLE_SIZE = 5  # unexpected values shown per failed expectation


@dataclass
class Outcome:
    name: str
    column: str | None
    passed: bool
    element_count: int = 0
    unexpected_count: int = 0
    observed: Any = None
    sample: list[Any] | None = None  # a few unexpected values; None for PII columns

    @property
    def unexpected_percent(self) -> float:
        return 100.0 * self.unexpected_count / self.element_count if self.element_count else 0.0


@dataclass
class GateResult:
    suite: str
    table: str
    version: int | None
    rows: int
    outcomes: list[Outcome] = field(default_factory=list)
    engine: str = "gx"  # the engine that evaluated the row-level expectations
    gx_result: Any = None  # GX's own validation result (engine "gx"), for its Data Docs
    # the increment checked is the commits after this version; None: the whole table
    since_version: int | None = None

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def describe(self) -> str:
        if self.passed:
            return f"{self.suite}: {len(self.outcomes)} expectations passed on {self.rows} rows"
        parts = [f"{o.name}: {o.unexpected_count} unexpected" if o.element_count
                 else f"{o.name}: observed {o.observed}" for o in self.failed]
        return f"{self.suite}: {len(self.failed)} of {len(self.outcomes)} failed: " + "; ".join(
            parts)

    def markdown(self) -> str:
        rows = ["| expectation | passed | rows | unexpected | observed / sample |",
                "| --- | --- | --- | --- | --- |"]
        for o in sorted(self.outcomes, key=lambda o: (o.passed, o.name)):
            shown = o.observed if o.observed is not None else (
                "(PII: values withheld)" if o.sample is None and o.unexpected_count else o.sample)
            counts = (f"{o.element_count} | {o.unexpected_count} ({o.unexpected_percent:.2f}%)"
                      if o.element_count else "- | -")
            rows.append(f"| {o.name} | {'yes' if o.passed else '**NO**'} | {counts} | "
                        f"{shown if shown is not None else ''} |")
        return "\n".join(rows)
