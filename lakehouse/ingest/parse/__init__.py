"""Landing bytes -> raw records: one row per record with every spec field as (text, kind), or
typed where the file allows, plus error rows for what cannot be read.

One reader per file format: ``parse_jsonl`` (JSON lines: ``jsonl``, with the typed fast path
in ``typed`` and the exact path in ``exact``), ``parse_csv`` (``csv_file``) and
``parse_document`` (JSON documents: ``document``); each returns ``Parsed`` (``records``).
"""

from lakehouse.ingest.parse.csv_file import parse_csv
from lakehouse.ingest.parse.document import parse_document
from lakehouse.ingest.parse.jsonl import parse_jsonl
from lakehouse.ingest.parse.records import Parsed

__all__ = ["Parsed", "parse_csv", "parse_document", "parse_jsonl"]
