"""What a silver build reports: counts per table, and for the whole batch.

Counts per table: ``rows_in = inserted + updated + duplicates + quarantined + waiting``, where
``updated`` rows replaced a stored row with the same key (a later order version, or an earlier
copy of an event that arrived later), ``duplicates`` are rows that lost to another row and
``waiting`` are pending rows retried and still unresolved (``released`` counts those that went
through: they are inside the first three).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TableResult:
    table: str
    rows_in: int = 0  # bronze rows of the batch feeding this table (0 for derived tables)
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0  # newly quarantined (pending: a reference not known yet)
    waiting: int = 0  # pending rows retried that still wait
    released: int = 0  # pending rows retried that reached silver (within the counts above)
    skipped: bool = False  # the batch was already in this table
    derived: bool = False  # built from other silver rows, not from bronze: no balance

    @property
    def balanced(self) -> bool:
        kept = (self.inserted + self.updated + self.duplicates + self.quarantined
                + self.waiting)
        return self.skipped or self.derived or self.rows_in == kept


@dataclass
class SilverResult:
    batch_id: str | None
    tables: dict[str, TableResult] = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        return sum(t.rows_in for t in self.tables.values())

    @property
    def quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables.values())

    @property
    def released(self) -> int:
        return sum(t.released for t in self.tables.values())

    @property
    def waiting(self) -> int:
        return sum(t.waiting for t in self.tables.values())

    def metadata(self) -> dict:
        return {"batch_id": self.batch_id, "rows_in": self.rows_in,
                "quarantined": self.quarantined, "released": self.released,
                "waiting": self.waiting,
                "tables": {k: vars(v) for k, v in sorted(self.tables.items())}}
