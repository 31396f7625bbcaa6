"""Facts about a Delta table read from its log alone (no data files scanned)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from deltalake import DeltaTable


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
