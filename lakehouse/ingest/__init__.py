"""Bronze ingestion: landing files -> validated bronze Delta tables, bad rows -> quarantine."""

from lakehouse.ingest.bronze import FileCounts, IngestResult, TableCounts, ingest_files
from lakehouse.ingest.landing import LandingFile, batch_id_for, discover

__all__ = [
    "FileCounts",
    "IngestResult",
    "LandingFile",
    "TableCounts",
    "batch_id_for",
    "discover",
    "ingest_files",
]
