"""The ledger row: its schema, the silver frames rows are derived from, and the helpers every
source's rows are built with (``ledger_stock.py``, ``ledger_shop.py``; the whole ledger:
``ledger.py``).

``business_day`` is the retailer's operating day the event closes into: for stock locations the
day starts at ``DAY_START_UTC_HOUR`` (07:00 UTC, the first WMS movement, after the last store
closes); for a shopper's order it is the shopper's local day of the visit it was placed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

DAY_START_UTC_HOUR = 7

LEDGER_SCHEMA: dict[str, pl.DataType] = {
    "product_id": pl.String(),
    "location_id": pl.String(),
    "event_time": pl.Datetime("us", "UTC"),
    "business_day": pl.Date(),
    "source": pl.String(),
    "source_event_id": pl.String(),
    "event_key": pl.String(),
    "kind": pl.String(),
    "delta_on_hand": pl.Int64(),
    "delta_reserved": pl.Int64(),
    "absolute_on_hand": pl.Int64(),
    "sequence": pl.Int64(),
    "reference": pl.String(),
    "location_inferred": pl.Boolean(),
    "arrived_at": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class SilverInputs:
    """The silver frames the ledger reads (any may be empty)."""

    movements: pl.DataFrame
    pos_lines: pl.DataFrame
    orders: pl.DataFrame
    order_lines: pl.DataFrame
    shipments: pl.DataFrame
    returns: pl.DataFrame
    purchase_orders: pl.DataFrame
    locations: pl.DataFrame
    shipping_rates: pl.DataFrame
    # ``order_id, session_lead``: how long before the order its shop visit began (clickstream)
    order_sessions: pl.DataFrame = field(default_factory=pl.DataFrame)


def empty_ledger() -> pl.DataFrame:
    return pl.DataFrame(schema=LEDGER_SCHEMA)


def ops_day(col: str = "event_time") -> pl.Expr:
    """Operating day of a stock location: the day starts at 07:00 UTC."""
    return (pl.col(col) - pl.duration(hours=DAY_START_UTC_HOUR)).dt.date()


def arrived() -> pl.Expr:
    """Arrival time (bronze ingestion) of a row: used by alert watermarks, never by the fold."""
    return pl.col("_ingested_at").cast(pl.Datetime("us", "UTC"))


def has_rows(frame: pl.DataFrame, *cols: str) -> bool:
    """Whether ``frame`` has rows and all of ``cols`` (an input not delivered yet reads empty)."""
    return frame.height > 0 and all(c in frame.columns for c in cols)


def with_lineage(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with an ``_ingested_at`` column (null when the frame has none)."""
    if "_ingested_at" in frame.columns:
        return frame
    return frame.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("_ingested_at"))


def as_ledger(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast to the ledger schema, column order fixed."""
    return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                         for c, t in LEDGER_SCHEMA.items()])
