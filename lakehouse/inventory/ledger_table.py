"""The stored ledger table (``H/lake/silver/inventory_ledger``): written whole by the full
build, read by partition by the micro-batch path (``live.py``).

Partitioned by ``business_day`` and ``location_inferred``: a micro-batch touches recent days,
and the few open reservations whose warehouse is still inferred are derived again every batch,
so both are read from the log's partition values without listing files or reading statistics.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from lakehouse.inventory.ledger_rows import LEDGER_SCHEMA
from lakehouse.storage.delta import to_arrow, writer_properties
from lakehouse.storage.faults import fault
from lakehouse.storage.objects import ensure_parent, join

PARTITION = "business_day"
INFERRED = "location_inferred"
# the ledger's partitions: the day (a micro-batch touches recent days) and whether the row's
# warehouse is inferred (the few open reservations a micro-batch derives again)
PARTITIONS = [PARTITION, INFERRED]

def write_ledger(uri: str, ledger: pl.DataFrame) -> int:
    """Replace the ledger table whole, partitioned by ``business_day`` (the full build)."""
    ensure_parent(uri)
    fault("ledger.overwrite.before", uri)
    write_deltalake(uri, to_arrow(ledger), mode="overwrite", schema_mode="overwrite",
                    partition_by=PARTITIONS, writer_properties=writer_properties(ledger))
    fault("ledger.overwrite.after", uri)
    return DeltaTable(uri).version()


_FILE_SCHEMA = {n: t for n, t in LEDGER_SCHEMA.items() if n not in PARTITIONS}


class LedgerTable:
    """The stored ledger, read by ``business_day`` and ``location_inferred`` partitions (from
    the log's partition values, no listing and no statistics)."""

    def __init__(self, uri: str, version: int | None = None) -> None:
        self.uri = uri
        self.dt = DeltaTable(uri, version=version) if DeltaTable.is_deltatable(uri) else None
        self.rows_read = 0
        self.files_read = 0
        self._actions: pl.DataFrame | None = None
        self.partitioned = self.dt is not None and \
            list(self.dt.metadata().partition_columns) == PARTITIONS

    def actions(self) -> pl.DataFrame:
        if self._actions is None:
            assert self.dt is not None
            raw = pl.from_arrow(pa.table(self.dt.get_add_actions(flatten=True)))
            assert isinstance(raw, pl.DataFrame)
            day, inf = f"partition.{PARTITION}", f"partition.{INFERRED}"
            cols = [pl.col("path"),
                    (pl.col(day).cast(pl.Date) if day in raw.columns
                     else pl.lit(None, pl.Date)).alias("day"),
                    (pl.col(inf).cast(pl.Boolean) if inf in raw.columns
                     else pl.lit(True)).fill_null(True).alias("inferred")]
            self._actions = raw.select(cols)
        return self._actions

    def read(self, days: set[date] | None = None, since: date | None = None,
             inferred: bool = False, where: pl.Expr | None = None,
             columns: list[str] | None = None) -> pl.DataFrame:
        """Stored rows of the given days (or from ``since`` on), optionally only the inferred
        partitions, filtered by ``where``, only ``columns`` (default: all)."""
        schema = LEDGER_SCHEMA if columns is None else {c: LEDGER_SCHEMA[c] for c in columns}
        if self.dt is None:
            return pl.DataFrame(schema=schema)
        a = self.actions()
        if self.partitioned:
            if days is not None:
                a = a.filter(pl.col("day").is_in(sorted(days)))
            if since is not None:
                a = a.filter(pl.col("day").is_null() | (pl.col("day") >= since))
        if inferred:
            a = a.filter(pl.col("inferred"))
        frames = []
        for (day, inf), g in a.group_by("day", "inferred", maintain_order=True):
            files = [join(self.uri, p) for p in g["path"]]
            self.files_read += len(files)
            stored = _FILE_SCHEMA if self.partitioned else LEDGER_SCHEMA
            lf = pl.scan_parquet(files, schema=pl.Schema(stored), missing_columns="insert",
                                 extra_columns="ignore", hive_partitioning=False, glob=False)
            if self.partitioned:
                lf = lf.with_columns(pl.lit(day, pl.Date).alias(PARTITION),
                                     pl.lit(inf, pl.Boolean).alias(INFERRED))
            if not self.partitioned and days is not None:
                lf = lf.filter(pl.col(PARTITION).is_in(sorted(days)))
            if not self.partitioned and since is not None:
                lf = lf.filter(pl.col(PARTITION) >= since)
            if where is not None:
                lf = lf.filter(where)
            frames.append(lf.select(list(schema)))
        if not frames:
            return pl.DataFrame(schema=schema)
        out = pl.concat(pl.collect_all(frames)).cast(schema)
        self.rows_read += out.height
        return out

    def lookup(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Stored rows sharing an event key with ``rows``, read only from the partitions such
        a row can live in (its business day, and its event date +-1: the same physical event
        reported by two systems is seconds apart)."""
        if rows.is_empty() or self.dt is None:
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        return self.read(days=_days_around(rows), where=pl.col("event_key").is_in(
            rows["event_key"].unique().implode()))


def _days_around(rows: pl.DataFrame) -> set[date]:
    d = rows.select(pl.col("event_time").dt.date().alias("d")).unique()["d"].drop_nulls()
    days = {x + timedelta(days=k) for x in d.to_list() for k in (-1, 0, 1)}
    return days | set(rows[PARTITION].drop_nulls().unique().to_list())
