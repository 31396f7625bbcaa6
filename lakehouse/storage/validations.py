"""The record of which table versions passed their quality gate.

Readers that must only see validated data (the warehouse build, ML training sets) read the
version recorded here, never the latest one: a version is recorded by the gate when it passes,
so it is never inferred from timestamps or run order. The registry is itself a Delta table
(``H/lake/quality/validations``), appended once per passed gate; concurrent appends from a
micro-batch and a batch run commit independently.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from lakehouse.storage.delta import writer_properties

SCHEMA = pa.schema([
    ("table", pa.string()),  # "<layer>/<name>" under H/lake, e.g. "silver/orders"
    ("version", pa.int64()),
    ("suite", pa.string()),
    ("rows_validated", pa.int64()),
    ("run_id", pa.string()),
    ("validated_at", pa.timestamp("us", tz="UTC")),
])


def registry_uri(lake: Path) -> str:
    return str(lake / "quality" / "validations")


def table_name(uri: str | Path) -> tuple[Path, str]:
    """``H/lake/silver/orders`` -> (``H/lake``, ``silver/orders``)."""
    path = Path(uri).resolve()
    return path.parents[1], f"{path.parent.name}/{path.name}"


# set inside `batched()`: records wait there and are appended in one commit per lake
_PENDING: ContextVar[list[tuple[Path, dict]] | None] = ContextVar("validations", default=None)


def record_validation(uri: str | Path, version: int, suite: str, rows_validated: int,
                      run_id: str | None = None, at: datetime | None = None) -> None:
    """Record that version ``version`` of the table at ``uri`` passed ``suite``."""
    lake, name = table_name(uri)
    row = {"table": name, "version": int(version), "suite": suite,
           "rows_validated": int(rows_validated), "run_id": run_id,
           "validated_at": at or datetime.now(UTC)}
    pending = _PENDING.get()
    if pending is None:
        _append(lake, [row])
    else:
        pending.append((lake, row))


def _append(lake: Path, rows: list[dict]) -> None:
    write_deltalake(registry_uri(lake), pa.Table.from_pylist(rows, schema=SCHEMA),
                    mode="append", writer_properties=writer_properties(None))


@contextmanager
def batched() -> Iterator[None]:
    """Collect the validations recorded inside the block and append them in one commit when
    it ends (one per step instead of one per table: fewer commits, fewer small files). If the
    block fails, what passed before the failure is still recorded."""
    pending: list[tuple[Path, dict]] = []
    token = _PENDING.set(pending)
    try:
        yield
    finally:
        _PENDING.reset(token)
        by_lake: dict[Path, list[dict]] = {}
        for lake, row in pending:
            by_lake.setdefault(lake, []).append(row)
        for lake, rows in by_lake.items():
            _append(lake, rows)


def validated_versions(lake: Path, as_of: datetime | None = None) -> dict[str, int]:
    """``{"silver/orders": 12, ...}``: the newest validated version of every table (validated
    at or before ``as_of`` when given)."""
    uri = registry_uri(lake)
    if not DeltaTable.is_deltatable(uri):
        return {}
    rows = pl.from_arrow(DeltaTable(uri).to_pyarrow_table())
    if as_of is not None:
        rows = rows.filter(pl.col("validated_at") <= as_of)
    newest = rows.group_by("table").agg(pl.col("version").max())
    return dict(zip(newest["table"].to_list(), newest["version"].to_list(), strict=True))


def validated_version(uri: str | Path, as_of: datetime | None = None) -> int | None:
    """The newest validated version of the table at ``uri``, or None if none passed yet."""
    lake, name = table_name(uri)
    return validated_versions(lake, as_of).get(name)
