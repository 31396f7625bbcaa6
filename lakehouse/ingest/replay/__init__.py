"""The quarantine, listed and replayed (DESIGN.md rule 7: pending, not dead).

``listing`` reads and summarises the quarantine (no payload shown); ``replay`` (``run``) judges
selected rows again: ``triage`` sorts out what can be, ``judge`` re-ingests it in scratch homes
by the current contract, and ``report`` says what became of every selected row.
"""

from lakehouse.ingest.replay.listing import (
    Selection,
    read_quarantine,
    rows,
    scan_quarantine,
    summary,
    text_table,
)
from lakehouse.ingest.replay.report import ReplayReport
from lakehouse.ingest.replay.run import replay

__all__ = ["ReplayReport", "Selection", "read_quarantine", "replay", "rows", "scan_quarantine",
           "summary", "text_table"]
