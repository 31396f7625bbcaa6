"""Ground truth written next to the landing zone (``H/truth/*.parquet``), incrementally.

Rows are buffered per table and flushed through one pyarrow ParquetWriter per table, so a long
run keeps bounded memory. Tables and columns are declared here, once.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TS = pa.timestamp("ms", tz="UTC")

SCHEMAS: dict[str, pa.Schema] = {
    "identity": pa.schema([("source", pa.string()), ("record_id", pa.string()),
                           ("person_id", pa.string()), ("shared", pa.bool_())]),
    "persons": pa.schema([("person_id", pa.string()), ("household_id", pa.string()),
                          ("first_name", pa.string()), ("last_name", pa.string()),
                          ("email", pa.string()), ("phone", pa.string()),
                          ("address1", pa.string()), ("city", pa.string()),
                          ("state", pa.string()), ("zip", pa.string()),
                          ("date_of_birth", pa.date32()), ("zone", pa.string()),
                          ("home_store", pa.string()), ("sessions_per_day", pa.float64())]),
    "stock_daily": pa.schema([("product_id", pa.string()), ("location_id", pa.string()),
                              ("date", pa.date32()), ("on_hand", pa.int64()),
                              ("reserved", pa.int64())]),
    "demand_daily": pa.schema([("product_id", pa.string()), ("location_id", pa.string()),
                               ("date", pa.date32()), ("demanded", pa.int64()),
                               ("sold", pa.int64()), ("lost", pa.int64())]),
    "touchpoints": pa.schema([("order_id", pa.string()), ("person_id", pa.string()),
                              ("channel", pa.string()), ("campaign_id", pa.string()),
                              ("touch_time", TS), ("order_time", TS),
                              ("order_channel", pa.string())]),
    "channel_effects": pa.schema([("channel", pa.string()), ("effect", pa.float64()),
                                  ("decay_days", pa.float64())]),
    "faults": pa.schema([("channel", pa.string()), ("entity", pa.string()),
                         ("file", pa.string()), ("line", pa.int64()), ("kind", pa.string()),
                         ("field", pa.string()), ("record_key", pa.string())]),
    "deliveries": pa.schema([("channel", pa.string()), ("entity", pa.string()),
                             ("file", pa.string()), ("line", pa.int64()), ("kind", pa.string()),
                             ("record_key", pa.string()), ("event_time", TS),
                             ("arrival_time", TS)]),
    "records": pa.schema([("channel", pa.string()), ("entity", pa.string()),
                          ("file", pa.string()), ("rows", pa.int64()),
                          ("faults", pa.int64()), ("late", pa.int64()),
                          ("duplicates", pa.int64())]),
    "orders": pa.schema([("order_id", pa.string()), ("person_id", pa.string()),
                         ("channel", pa.string()), ("created_at", TS),
                         ("location_id", pa.string()), ("units", pa.int64()),
                         ("revenue", pa.float64()), ("cancelled", pa.bool_()),
                         ("guest", pa.bool_())]),
    "promo_lift": pa.schema([("promo_id", pa.string()), ("category", pa.string()),
                             ("discount_pct", pa.float64()), ("lift", pa.float64())]),
}
FLUSH_ROWS = 50_000


class TruthWriter:
    """Append rows (tuples in schema order) per table; Parquet files appear on ``close``."""

    def __init__(self, directory: Path, suffix: str = "") -> None:
        self.dir = directory
        self.suffix = suffix
        self.dir.mkdir(parents=True, exist_ok=True)
        self._buf: dict[str, list[tuple]] = {name: [] for name in SCHEMAS}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self.enabled = True

    def add(self, table: str, row: tuple) -> None:
        if not self.enabled:
            return
        buf = self._buf[table]
        buf.append(row)
        if len(buf) >= FLUSH_ROWS:
            self._flush(table)

    def extend(self, table: str, rows: list[tuple]) -> None:
        if not self.enabled:
            return
        self._buf[table].extend(rows)
        if len(self._buf[table]) >= FLUSH_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        rows = self._buf[table]
        if not rows:
            return
        schema = SCHEMAS[table]
        cols = list(zip(*rows, strict=True))
        arrays = [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)]
        batch = pa.record_batch(arrays, schema=schema)
        if table not in self._writers:
            path = self.dir / f"{table}{self.suffix}.parquet"
            self._writers[table] = pq.ParquetWriter(path, schema)
        self._writers[table].write_batch(batch)
        self._buf[table] = []

    def close(self) -> None:
        """Flush everything; every table gets a file, empty or not, so readers can rely on it."""
        for table in SCHEMAS:
            self._flush(table)
            if table not in self._writers:
                path = self.dir / f"{table}{self.suffix}.parquet"
                pq.write_table(SCHEMAS[table].empty_table(), path)
            else:
                self._writers[table].close()
        self._writers = {}
