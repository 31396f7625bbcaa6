"""Table maintenance, so thousands of micro-batches do not slow reads.

Compaction rewrites small files into large ones; a checkpoint spares readers from replaying
the whole log; vacuum removes files no version inside the retention window needs. Retention
is never below deltalake's safe default (7 days) unless asked: training sets pin table
versions and time travel must keep working for them. It is longer when a table's validated pin
is older than the window: vacuum never removes a file the pinned version needs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from deltalake import DeltaTable

from lakehouse.storage.delta import writer_properties
from lakehouse.storage.faults import fault

DEFAULT_RETENTION_HOURS = 7 * 24
# commits that rewrite files without changing rows (the Delta protocol marks their actions
# dataChange=false): a version reached from a validated one through these alone holds the
# same rows
NO_DATA_CHANGE = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END"})


def data_unchanged(table: DeltaTable, since_version: int) -> bool:
    """True when every commit after ``since_version`` only rewrote files (compaction, vacuum)
    or there is none: the latest version holds exactly the rows of ``since_version``."""
    after = [h for h in table.history() if int(h["version"]) > since_version]
    return all(h.get("operation") in NO_DATA_CHANGE for h in after)


def _hours_since(table: DeltaTable, version: int) -> float:
    """Hours since ``version`` was committed (0 when the log no longer tells)."""
    for h in table.history():
        if int(h["version"]) == version:
            return max(0.0, time.time() - int(h["timestamp"]) / 1000) / 3600
    return 0.0


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
    keep_version: int | None = None,
) -> MaintenanceReport:
    """Compact, checkpoint and vacuum one table within the retention window, widened so that
    every file of ``keep_version`` (the table's validated pin) survives."""
    table = DeltaTable(uri)
    if keep_version is not None:
        # a file the pin needs was removed by a later commit, so at most this long ago
        retention_hours = max(retention_hours,
                              math.ceil(_hours_since(table, keep_version)) + 1)
    version_before = table.version()
    files_before = len(table.file_uris())
    added = removed = 0
    if files_before >= min_files_to_compact:
        fault("maintenance.compact.before", uri)
        metrics = table.optimize.compact(writer_properties=writer_properties(None))
        fault("maintenance.compact.after", uri)
        added, removed = int(metrics["numFilesAdded"]), int(metrics["numFilesRemoved"])
        table.update_incremental()
    table.create_checkpoint()
    fault("maintenance.vacuum.before", uri)
    vacuumed = table.vacuum(
        retention_hours=retention_hours,
        dry_run=False,
        # deltalake refuses a window shorter than the table's setting unless told; so do we.
        enforce_retention_duration=not allow_short_retention,
    )
    fault("maintenance.vacuum.after", uri)
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
