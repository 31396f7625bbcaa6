"""The report of one micro-batch (``apply_micro_batch``), flattened into asset metadata."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LiveReport:
    """What one micro-batch did: counts, table versions and timings (Dagster metadata)."""

    batch_id: str
    skipped: bool = False  # the batch was applied before
    full_rebuild: bool = False  # no ledger yet (first run): a full build ran
    recovered: bool = False  # the ledger held the batch, positions did not: redone from it
    silver_rows: dict[str, int] = field(default_factory=dict)
    ledger_rows: int = 0  # ledger rows derived from the batch (and orders it touches)
    ledger_inserted: int = 0
    ledger_updated: int = 0
    rows_applied: int = 0  # rows folded into positions
    rows_retracted: int = 0  # folded rows taken back (replaced or moved)
    keys_touched: int = 0
    orders_rederived: int = 0
    orders_inferred: int = 0
    history_rows_read: int = 0  # stored ledger rows read (lookups, history, inference)
    ledger_files_read: int = 0
    positions_rows: int = 0
    channel_rows: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def metadata(self) -> dict:
        out = {k: v for k, v in vars(self).items() if isinstance(v, int | float | str | bool)}
        out.update({f"silver_{k}": v for k, v in self.silver_rows.items()})
        out.update({f"seconds_{k}": round(v, 3) for k, v in self.seconds.items()})
        out.update({f"delta_version_{k}": v for k, v in self.versions.items()})
        return out
