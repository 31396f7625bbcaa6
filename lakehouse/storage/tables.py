"""Facts about a Delta table read from its log alone, and whole-table replacement."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from lakehouse.storage.delta import to_arrow, writer_properties
from lakehouse.storage.faults import fault
from lakehouse.storage.objects import ensure_parent


@dataclass(frozen=True)
class TableStats:
    uri: str
    version: int
    files: int
    rows: int
    bytes: int
    columns: tuple[tuple[str, str], ...]  # (name, Arrow type)


def table_stats(uri: str) -> TableStats | None:
    """Version, file count, row count and schema of a table; None if there is no table yet."""
    if not DeltaTable.is_deltatable(uri):
        return None
    table = DeltaTable(uri)
    actions = pa.table(table.get_add_actions(flatten=True))
    schema = pa.schema(table.schema())
    return TableStats(
        uri=uri,
        version=table.version(),
        files=actions.num_rows,
        rows=int(pa.compute.sum(actions["num_records"]).as_py() or 0) if actions.num_rows else 0,
        bytes=int(pa.compute.sum(actions["size_bytes"]).as_py() or 0) if actions.num_rows else 0,
        columns=tuple((f.name, str(f.type)) for f in schema),
    )


def replace_table(uri: str, frame: pl.DataFrame) -> int:
    """Replace a derived table whole (a rebuilt snapshot: positions, identity map, profiles).

    One atomic commit, so readers see the old or the new snapshot, never a mix; earlier
    versions stay readable by time travel within the maintenance retention window.
    """
    ensure_parent(uri)
    fault("replace.before", uri)
    write_deltalake(uri, to_arrow(frame), mode="overwrite", schema_mode="overwrite",
                    writer_properties=writer_properties(frame))
    fault("replace.after", uri)
    return DeltaTable(uri).version()
