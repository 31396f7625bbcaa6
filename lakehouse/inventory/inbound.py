"""Inbound stock: open purchase orders, with expected dates moved by each supplier's record.

A supplier that delivered late before will likely be late again: the expected date is the
promised date plus the supplier's mean delay over POs delivered before ``as_of`` (never earlier
than ``as_of`` itself, so an overdue PO is expected "now", not in the past).
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

INBOUND_SCHEMA = {"product_id": pl.String, "location_id": pl.String, "inbound": pl.Int64,
                  "next_expected_date": pl.Date}


def supplier_delays(purchase_orders: pl.DataFrame, as_of: datetime | None = None
                    ) -> pl.DataFrame:
    """``supplier_id, mean_delay_days, delivered_pos`` from POs delivered up to ``as_of``."""
    po = purchase_orders.filter(pl.col("delivered_at").is_not_null())
    if as_of is not None:
        po = po.filter(pl.col("delivered_at") <= _utc(as_of))
    return po.group_by("supplier_id").agg(
        pl.col("delay_days").fill_null(0).mean().alias("mean_delay_days"),
        pl.len().alias("delivered_pos")).sort("supplier_id")


def open_purchase_orders(purchase_orders: pl.DataFrame, as_of: datetime | None = None
                         ) -> pl.DataFrame:
    """POs ordered but not delivered at ``as_of`` with ``expected_date``."""
    if purchase_orders.is_empty():
        return pl.DataFrame(schema={"po_number": pl.String, **INBOUND_SCHEMA})
    now = _utc(as_of) if as_of is not None else None
    po = purchase_orders
    if now is not None:
        po = po.filter((pl.col("ordered_at") <= now)
                       & (pl.col("delivered_at").is_null() | (pl.col("delivered_at") > now)))
    else:
        po = po.filter(pl.col("delivered_at").is_null())
    delays = supplier_delays(purchase_orders, as_of)
    po = po.join(delays, on="supplier_id", how="left").with_columns(
        pl.col("mean_delay_days").fill_null(0.0).ceil().cast(pl.Int64).alias("_d"))
    return po.select(
        "po_number", "supplier_id", "product_id", "location_id",
        pl.col("ordered_qty").alias("qty"), "promised_date",
        pl.max_horizontal(pl.col("promised_date") + pl.duration(days=pl.col("_d")),
                          pl.lit(now.date() if now else None, pl.Date)).alias("expected_date"))


def inbound(purchase_orders: pl.DataFrame, as_of: datetime | None = None) -> pl.DataFrame:
    """Units on open POs per product x location and the next expected delivery date."""
    po = open_purchase_orders(purchase_orders, as_of)
    if po.is_empty():
        return pl.DataFrame(schema=INBOUND_SCHEMA)
    return po.group_by("product_id", "location_id").agg(
        pl.col("qty").sum().cast(pl.Int64).alias("inbound"),
        pl.col("expected_date").min().alias("next_expected_date"))


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


TRANSIT_SCHEMA = {"product_id": pl.String, "location_id": pl.String, "in_transit_out": pl.Int64,
                  "oldest_transfer_at": pl.Datetime("us", "UTC")}


def transfers_in_transit(movements: pl.DataFrame, as_of: datetime | None = None
                         ) -> pl.DataFrame:
    """Units shipped out on a transfer (``TRANSFER_OUT``) not booked in anywhere yet
    (no ``TRANSFER_IN`` with the same reference at ``as_of``), per product x origin.

    They are off the origin's on hand and on nobody's shelf: stock in the truck. The WMS
    feed names the destination only when it books the transfer in, so the units are reported
    at the origin (``in_transit_out``), not as inbound at a store."""
    if movements.is_empty() or "movement_type" not in movements.columns:
        return pl.DataFrame(schema=TRANSIT_SCHEMA)
    m = movements.unique(subset=["movement_id"], keep="first")
    if as_of is not None:
        m = m.filter(pl.col("event_time") <= _utc(as_of))
    outs = m.filter(pl.col("movement_type") == "TRANSFER_OUT")
    ins = m.filter(pl.col("movement_type") == "TRANSFER_IN").select("reference").unique()
    return (outs.join(ins, on="reference", how="anti")
            .group_by("product_id", "location_id")
            .agg(pl.col("qty").sum().cast(pl.Int64).alias("in_transit_out"),
                 pl.col("event_time").min().alias("oldest_transfer_at"))
            .cast(TRANSIT_SCHEMA).sort("product_id", "location_id"))
