"""The tables a feature set reads, pinned to versions that passed their quality gate.

A version is taken from the validation registry (``H/lake/quality/validations``), which the gate
appends to when it passes; it is never inferred from the latest commit. Pinned versions (to
rebuild a training set) must also be in the registry. Each table is read at its version through
Delta time travel as a DuckDB view over that snapshot's Parquet files, so nothing is loaded
whole: DuckDB streams the scans and spills large joins to disk.

Every view of an event or versioned table also has ``known_at`` and ``superseded_at``: the
knowledge interval of the row, ``[known_at, superseded_at)`` (null: unbounded). With
``knowledge=True`` a row is known from its knowledge time (``_delivered_at``; ``_ingested_at``
for rows written before lineage carried it) and is never superseded (silver keeps the latest
version; ``lakehouse.ml.history`` adds the earlier versions of orders and products); with
``knowledge=False`` (event-time mode) both are null: every row is known at every cutoff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
from deltalake import DeltaTable

from lakehouse.storage import duck
from lakehouse.storage.duck import parquet_scan, quoted, register_parquet, snapshot_files
from lakehouse.storage.objects import attach
from lakehouse.storage.validations import (
    NotValidatedError,
    passed_among,
    registry_uri,
    validated_versions,
)

# view name in the feature SQL -> table under H/lake
TABLES = {
    "orders": "silver/orders",
    "order_lines": "silver/order_lines",
    "pos_lines": "silver/pos_transaction_lines",
    "clicks": "silver/clickstream_events",
    "email_events": "silver/email_events",
    "returns": "silver/returns",
    "reviews": "silver/reviews",
    "products": "silver/products",
    "promotions": "silver/promotions",
    "identity_map": "gold/identity_map",
    "inventory_daily": "gold/inventory_daily",
}
# bronze tables that keep every version of a versioned silver table (knowledge mode only)
HISTORY = {
    "orders": "bronze/orders__orders",
    "products": "bronze/catalog__products",
}
# views with a knowledge time (rows of silver tables with lineage)
KNOWN = ("orders", "order_lines", "pos_lines", "clicks", "email_events", "returns", "reviews",
         "products")
# lineage read where a table has it (tables written before ``_delivered_at`` existed lack it)
LINEAGE = ("_ingested_at", "_delivered_at", "_source_file", "_line")
OPTIONAL = {"_delivered_at"}

# the columns each view needs (projection; also the schema of an empty snapshot)
COLUMNS = {
    "orders": ("order_id", "channel", "created_at", "updated_at", "cancelled_at", "customer_id"),
    "order_lines": ("order_id", "line_id", "product_id", "quantity", "unit_price", "discount"),
    "pos_lines": ("transaction_id", "event_time", "product_id", "quantity", "unit_price",
                  "discount", "loyalty_card", "card_token"),
    "clicks": ("channel", "event_time", "anonymous_id", "session_id"),
    "email_events": ("event_type", "email", "event_time", "campaign_id"),
    "returns": ("order_id", "product_id", "quantity", "event_time", "refund_amount"),
    "reviews": ("product_id", "rating", "event_time"),
    "products": ("product_id", "category", "price"),
    "promotions": ("promo_id", "category", "discount_pct", "start_date", "end_date"),
    "identity_map": ("source", "person_id", "identifier_type", "identifier_hash"),
    "inventory_daily": ("product_id", "location_id", "date", "on_hand", "available_to_promise"),
}

# DuckDB type of every column above, for tables that do not exist yet (a channel that never
# delivered): they read as empty, typed relations
_TYPES = {
    **dict.fromkeys(("order_id", "channel", "customer_id", "transaction_id", "product_id",
                     "loyalty_card", "card_token", "anonymous_id", "session_id", "event_type",
                     "email", "campaign_id", "category", "promo_id", "source", "person_id",
                     "identifier_type", "identifier_hash", "location_id", "line_id",
                     "_source_file"), "varchar"),
    **dict.fromkeys(("created_at", "updated_at", "cancelled_at", "event_time", "_ingested_at",
                     "_delivered_at"), "timestamptz"),
    **dict.fromkeys(("quantity", "rating", "on_hand", "available_to_promise", "_line"),
                    "bigint"),
    **dict.fromkeys(("unit_price", "discount", "refund_amount", "price", "discount_pct"),
                    "double"),
    **dict.fromkeys(("start_date", "end_date", "date"), "date"),
}
ABSENT = -1  # the version recorded for a table that did not exist: read as empty


def resolve_versions(lake: Path, tables: Iterable[str],
                     versions: Mapping[str, int] | None = None) -> dict[str, int]:
    """``{"silver/orders": 12, ...}`` for ``tables``: the newest validated version of each, or
    the pinned ``versions``, each of which must be in the registry."""
    tables = sorted(set(tables))
    if versions is None:
        # a table that does not exist has nothing unvalidated to read: it reads as empty
        passed = {**{t: ABSENT for t in tables
                     if not DeltaTable.is_deltatable(str(lake / t))}, **validated_versions(lake)}
        missing = [t for t in tables if t not in passed]
        if missing:
            raise NotValidatedError(
                f"no validated version of {', '.join(missing)} in {registry_uri(lake)}: "
                "their quality gate has not passed yet, and feature sets read only table "
                "versions that passed it (run the gate, or materialize the tables)")
        return {t: int(passed[t]) for t in tables}
    missing = [t for t in tables if t not in versions]
    if missing:
        raise NotValidatedError(f"versions= pins no version of {', '.join(missing)}")
    # a version whose gate failed is recorded too: only passes count
    passed = passed_among(lake, {t: int(versions[t]) for t in tables
                                 if int(versions[t]) != ABSENT})
    unvalidated = [f"{t}@{versions[t]}" for t in tables
                   if int(versions[t]) != ABSENT and (t, int(versions[t])) not in passed]
    if unvalidated:
        raise NotValidatedError(
            f"pinned versions {', '.join(unvalidated)} never passed their quality gate "
            f"(not in {registry_uri(lake)})")
    # an erasure purged the files of every version before it (right to be forgotten)
    from lakehouse.privacy.audit import check_pins

    check_pins(lake, {t: int(versions[t]) for t in tables})
    return {t: int(versions[t]) for t in tables}


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with UTC session time and a spill directory (bounded memory)."""
    con = duck.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set preserve_insertion_order = false")
    return con


def _open_version(uri: str, version: int) -> DeltaTable:
    try:
        return DeltaTable(uri, version=version)
    except Exception as exc:
        raise NotValidatedError(
            f"cannot read validated version {version} of {uri} ({exc}); was it vacuumed "
            "beyond the retention window?") from exc


def register_snapshot(con: duckdb.DuckDBPyConnection, view: str, uri: str, version: int,
                      columns: Iterable[str], optional: Iterable[str] = ()) -> None:
    """View ``view`` over version ``version`` of the Delta table at ``uri`` (only ``columns``;
    those in ``optional`` read as null when the snapshot has no such column).

    Reads the snapshot's Parquet files with DuckDB, not through pyarrow
    (:mod:`lakehouse.storage.duck` says why)."""
    if version == ABSENT:
        typed = ", ".join(f"null::{_TYPES[c]} as {quoted(c)}" for c in columns)
        con.execute(f"create or replace view {view} as select {typed} where false")
        return
    table = _open_version(uri, version)
    schema = pa.schema(table.schema().to_arrow())
    wanted = list(columns)
    optional = set(optional)
    absent = [c for c in wanted if c not in schema.names and c not in optional]
    if absent:
        raise ValueError(f"{uri}@{version} has no column {', '.join(absent)}")
    cols = ", ".join(quoted(c) if c in schema.names else f"null::{_TYPES[c]} as {quoted(c)}"
                     for c in wanted)
    if not register_parquet(con, view, snapshot_files(table), cols):
        empty = pa.schema([schema.field(c) for c in wanted if c in schema.names]).empty_table()
        con.register(f"_{view}_empty", empty)
        con.execute(f"create or replace view {view} as select {cols} from _{view}_empty")


def register_inputs(con: duckdb.DuckDBPyConnection, lake: Path,
                    versions: Mapping[str, int], knowledge: bool = False) -> None:
    """Register every view of :data:`TABLES` whose table is in ``versions``; views of tables
    with a knowledge time (:data:`KNOWN`) get ``known_at`` and ``superseded_at`` (see above)."""
    for view, table in TABLES.items():
        if table not in versions:
            continue
        if view not in KNOWN:
            register_snapshot(con, view, str(lake / table), versions[table], COLUMNS[view])
            continue
        raw = f"_{view}_snapshot"
        register_snapshot(con, raw, str(lake / table), versions[table],
                          (*COLUMNS[view], *LINEAGE), OPTIONAL)
        known = ("coalesce(_delivered_at, _ingested_at)" if knowledge
                 else "null::timestamptz")
        con.execute(f"create or replace view {view} as select *, {known} as known_at, "
                    f"null::timestamptz as superseded_at from {raw}")


def snapshot_frame(con: duckdb.DuckDBPyConnection, uri: str, version: int,
                   columns: Iterable[str] | None = None, where: str | None = None,
                   ) -> pl.DataFrame | None:
    """Rows of version ``version`` of a Delta table as a polars frame (``columns``: only
    those; ``where``: a DuckDB filter); None when the table did not exist (``ABSENT``)."""
    if version == ABSENT:
        return None
    table = _open_version(uri, version)
    schema = pa.schema(table.schema().to_arrow())
    names = [c for c in (columns or schema.names) if c in schema.names]
    files = snapshot_files(table)
    if not files:
        frame = pl.from_arrow(pa.schema([schema.field(c) for c in names]).empty_table())
        assert isinstance(frame, pl.DataFrame)
        return frame
    sql = parquet_scan(files, ", ".join(quoted(c) for c in names))
    attach(con, files)  # object-store files: DuckDB reads them through pyarrow's client
    return con.sql(sql + (f" where {where}" if where else "")).pl()
