"""Delta Lake helpers shared by every layer: where tables live, how to write them safely and how
DuckDB reads them (``duck``)."""

from lakehouse.storage.delta import (
    SchemaConflict,
    append_files_once,
    append_once,
    committed,
    normalise_timestamps,
    read_table,
    to_arrow,
)
from lakehouse.storage.paths import bronze_table_name, bronze_uri, quarantine_uri, table_uri

__all__ = [
    "SchemaConflict",
    "append_files_once",
    "append_once",
    "bronze_table_name",
    "bronze_uri",
    "committed",
    "normalise_timestamps",
    "quarantine_uri",
    "read_table",
    "table_uri",
    "to_arrow",
]
