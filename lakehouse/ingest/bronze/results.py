"""What ``ingest_files`` reports: rows read, in bronze and quarantined, per file and table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class FileCounts:
    relpath: str
    channel: str
    entity: str | None
    rows_read: int = 0
    rows_bronze: int = 0
    rows_quarantined: int = 0
    skipped: bool = False  # already ingested into every table it feeds


@dataclass
class TableCounts:
    table: str
    rows_read: int = 0
    rows_bronze: int = 0
    rows_quarantined: int = 0
    rows_appended: int = 0  # rows this run committed (0 when everything was already there)
    files_committed: int = 0
    rows_released: int = 0  # quarantined rows of earlier batches released into this table


@dataclass
class IngestResult:
    batch_id: str
    files: list[FileCounts] = field(default_factory=list)
    tables: dict[str, TableCounts] = field(default_factory=dict)
    quarantined_by_kind: dict[str, int] = field(default_factory=dict)  # error_kind -> rows

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_bronze(self) -> int:
        return sum(f.rows_bronze for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def files_skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    def metadata(self) -> dict:
        """Plain numbers for run metadata (read = bronze + quarantined holds by construction)."""
        return {
            "batch_id": self.batch_id, "files": len(self.files),
            "files_skipped": self.files_skipped, "rows_read": self.rows_read,
            "rows_bronze": self.rows_bronze, "rows_quarantined": self.rows_quarantined,
            "tables": {k: asdict(v) for k, v in sorted(self.tables.items())},
            "quarantined_by_kind": dict(sorted(self.quarantined_by_kind.items())),
        }
