"""Table maintenance, so thousands of micro-batches do not slow reads.

Compaction rewrites small files into large ones; a checkpoint spares readers from replaying
the whole log; vacuum removes files no version inside the retention window needs. Retention
is never below deltalake's safe default (7 days) unless asked: training sets pin table
versions and time travel must keep working for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from deltalake import DeltaTable

from lakehouse.storage.delta import writer_properties

DEFAULT_RETENTION_HOURS = 7 * 24


@dataclass(frozen=True)
class MaintenanceReport:
    uri: str
    version_before: int
    version_after: int
    files_before: int
    files_after: int
    files_added: int
    files_removed: int
    files_vacuumed: int


def maintain(
    uri: str,
    *,
    retention_hours: int = DEFAULT_RETENTION_HOURS,
    min_files_to_compact: int = 2,
    allow_short_retention: bool = False,
) -> MaintenanceReport:
    """Compact, checkpoint and vacuum one table within the retention window."""
    table = DeltaTable(uri)
    version_before = table.version()
    files_before = len(table.file_uris())
    added = removed = 0
    if files_before >= min_files_to_compact:
        metrics = table.optimize.compact(writer_properties=writer_properties(None))
        added, removed = int(metrics["numFilesAdded"]), int(metrics["numFilesRemoved"])
        table.update_incremental()
    table.create_checkpoint()
    vacuumed = table.vacuum(
        retention_hours=retention_hours,
        dry_run=False,
        # deltalake refuses a window shorter than the table's setting unless told; so do we.
        enforce_retention_duration=not allow_short_retention,
    )
    table.cleanup_metadata()
    return MaintenanceReport(
        uri=uri,
        version_before=version_before,
        version_after=table.version(),
        files_before=files_before,
        files_after=len(table.file_uris()),
        files_added=added,
        files_removed=removed,
        files_vacuumed=len(vacuumed),
    )
