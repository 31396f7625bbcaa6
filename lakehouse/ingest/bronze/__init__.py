"""Bronze ingestion of a batch of landing files: ``ingest_files`` parses, validates and commits
them to the bronze tables and the quarantine, exactly once per file and table.

``run`` runs a batch; ``plan`` groups its files and skips what the lake holds already; ``work``
parses, validates and types one group (``check`` validates it); ``commit`` appends to the
tables; ``rows`` says what a bronze row is (spec columns + lineage); ``results`` what a batch
reports.
"""

from lakehouse.ingest.bronze.commit import ingested
from lakehouse.ingest.bronze.results import FileCounts, IngestResult, TableCounts
from lakehouse.ingest.bronze.rows import LINEAGE, LINEAGE_DOCS, entities_of
from lakehouse.ingest.bronze.run import ingest_files

__all__ = [
    "LINEAGE",
    "LINEAGE_DOCS",
    "FileCounts",
    "IngestResult",
    "TableCounts",
    "entities_of",
    "ingest_files",
    "ingested",
]
