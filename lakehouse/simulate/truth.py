"""Ground truth written next to the landing zone (``H/truth/*.parquet``), incrementally.

Rows are buffered per table and flushed through one pyarrow ParquetWriter per table, so a long
run keeps bounded memory. Tables and columns are declared here, once.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
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
    "conversion_drivers": pa.schema([("order_id", pa.string()), ("person_id", pa.string()),
                                     ("order_channel", pa.string()),
                                     ("session_source", pa.string()),
                                     ("session_campaign_id", pa.string()),
                                     ("ad_campaign_id", pa.string()),
                                     ("ad_network", pa.string()), ("p_buy", pa.float64()),
                                     ("p_without_ads", pa.float64()),
                                     ("p_without_email", pa.float64())]),
    "products": pa.schema([("product_id", pa.string()), ("category", pa.string()),
                           ("quality", pa.float64()), ("popularity", pa.float64()),
                           ("return_prob", pa.float64()), ("supplier_id", pa.string()),
                           ("supplier_on_time", pa.float64())]),
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

    def columns(self, table: str, cols: dict[str, object]) -> None:
        """Append whole columns at once (numpy arrays or lists, in schema order): for the
        dense daily tables, where building a tuple per row would dominate."""
        if not self.enabled:
            return
        self._flush(table)
        schema = SCHEMAS[table]
        df = pl.DataFrame({f.name: cols[f.name] for f in schema},
                          schema={f.name: _raw_type(f.type) for f in schema})
        self._writer(table).write_table(_finish(df, schema))

    def _flush(self, table: str) -> None:
        rows = self._buf[table]
        if not rows:
            return
        schema = SCHEMAS[table]
        self._writer(table).write_table(to_arrow(rows, schema))
        self._buf[table] = []

    def _writer(self, table: str) -> pq.ParquetWriter:
        if table not in self._writers:
            path = self.dir / f"{table}{self.suffix}.parquet"
            self._writers[table] = pq.ParquetWriter(path, SCHEMAS[table])
        return self._writers[table]

    def close(self) -> None:
        """Flush everything; every table gets a file, empty or not, so readers can rely on it."""
        for table in SCHEMAS:
            self._flush(table)
            self._writer(table).close()
        self._writers = {}


def _raw_type(t: pa.DataType) -> pl.DataType:
    if t == pa.string():
        return pl.String()
    if t == pa.bool_():
        return pl.Boolean()
    if t == pa.float64():
        return pl.Float64()
    return pl.Int64()  # int64, and timestamps (ms) / dates (days) given as integers


def to_arrow(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Rows of Python values to an Arrow table; through polars, because ``pa.array`` on Python
    lists imports pandas (seconds without bytecode caches)."""
    raw = {f.name: _raw_type(f.type) for f in schema}
    return _finish(pl.DataFrame(rows, schema=raw, orient="row"), schema)


def _finish(df: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    casts = []
    for f in schema:
        if pa.types.is_timestamp(f.type):
            casts.append(pl.col(f.name).cast(pl.Datetime("ms")).dt.replace_time_zone("UTC"))
        elif pa.types.is_date32(f.type):
            casts.append(pl.col(f.name).cast(pl.Int32).cast(pl.Date))
    if casts:
        df = df.with_columns(casts)
    return df.to_arrow().cast(schema)
