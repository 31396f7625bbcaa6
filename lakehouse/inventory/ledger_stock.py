"""Ledger rows from the stock systems: the WMS, the tills, the returns desk and the suppliers
(each source's effect on on hand and reserved: ``ledger.py``).

The returns desk and the suppliers are fallbacks: their row shares its ``event_key`` with the
WMS row it stands in for (``restock:<return>``, ``receipt:<po>``), so ``canonical`` keeps one
of the two and a fallback never double counts.
"""

from __future__ import annotations

import polars as pl

from lakehouse.inventory.ledger_rows import (
    DAY_START_UTC_HOUR,
    arrived,
    as_ledger,
    empty_ledger,
    has_rows,
    ops_day,
    with_lineage,
)

WMS_DELTA = {
    "RECEIPT": 1, "TRANSFER_IN": 1, "RETURN_RESTOCK": 1, "PICK": -1, "TRANSFER_OUT": -1,
    "ADJUSTMENT": 1,  # signed in the feed
}


def wms_rows(movements: pl.DataFrame) -> pl.DataFrame:
    if not has_rows(movements, "movement_id", "movement_type"):
        return empty_ledger()
    m = with_lineage(movements).unique(subset=["movement_id"], keep="first").filter(
        pl.col("product_id").is_not_null() & pl.col("location_id").is_not_null())
    mtype = pl.col("movement_type")
    sign = mtype.replace_strict(WMS_DELTA, default=0, return_dtype=pl.Int64)
    qty = pl.col("qty").fill_null(0)
    delta = pl.when(mtype == "CYCLE_COUNT").then(0).otherwise(sign * qty)
    key = (pl.when(mtype == "RECEIPT").then(pl.lit("receipt:") + pl.col("reference"))
           .when(mtype == "RETURN_RESTOCK").then(pl.lit("restock:") + pl.col("reference"))
           .otherwise(pl.lit("wms:") + pl.col("movement_id")))
    return as_ledger(m.select(
        "product_id", "location_id", "event_time",
        ops_day().alias("business_day"),
        pl.lit("wms").alias("source"),
        pl.col("movement_id").alias("source_event_id"),
        key.alias("event_key"),
        mtype.str.to_lowercase().alias("kind"),
        delta.alias("delta_on_hand"),
        pl.when(mtype == "PICK").then(-qty).otherwise(0).alias("delta_reserved"),
        pl.when(mtype == "CYCLE_COUNT").then(pl.col("counted_qty")).alias("absolute_on_hand"),
        pl.col("seq_no").alias("sequence"),
        "reference",
        pl.lit(False).alias("location_inferred"),
        arrived().alias("arrived_at"),
    ))


def pos_rows(pos_lines: pl.DataFrame, locations: pl.DataFrame) -> pl.DataFrame:
    """Till sales: stock leaves the store shelf at the sale; the day is the store's day."""
    if not has_rows(pos_lines, "transaction_id", "line_no"):
        return empty_ledger()
    p = with_lineage(pos_lines).unique(subset=["transaction_id", "line_no"], keep="first") \
        .filter(pl.col("product_id").is_not_null())
    eid = pl.col("transaction_id") + "#" + pl.col("line_no").cast(pl.String)
    return as_ledger(p.select(
        "product_id", "location_id", "event_time", ops_day().alias("business_day"),
        pl.lit("pos").alias("source"), eid.alias("source_event_id"),
        (pl.lit("pos:") + eid).alias("event_key"), pl.lit("sale").alias("kind"),
        (-pl.col("quantity")).alias("delta_on_hand"), pl.lit(0).alias("delta_reserved"),
        pl.col("transaction_id").alias("reference"), pl.lit(False).alias("location_inferred"),
        arrived().alias("arrived_at"),
    ))


def return_rows(returns: pl.DataFrame) -> pl.DataFrame:
    """Returns desk: a restock (fallback for a WMS restock not synced yet) or a write-off."""
    if not has_rows(returns, "return_id", "disposition"):
        return empty_ledger()
    r = with_lineage(returns).unique(subset=["return_id"], keep="first").filter(
        pl.col("product_id").is_not_null() & pl.col("location_id").is_not_null())
    restock = pl.col("disposition") == "restock"
    # the WMS books the restock a minute after the desk accepts the return
    t = pl.when(restock).then(pl.col("event_time") + pl.duration(seconds=60)) \
        .otherwise(pl.col("event_time"))
    return as_ledger(r.select(
        "product_id", "location_id", t.alias("event_time"),
        ops_day().alias("business_day"), pl.lit("returns").alias("source"),
        pl.col("return_id").alias("source_event_id"),
        pl.when(restock).then(pl.lit("restock:") + pl.col("return_id"))
        .otherwise(pl.lit("returns:") + pl.col("return_id")).alias("event_key"),
        pl.when(restock).then(pl.lit("return_restock")).otherwise(
            pl.lit("return_write_off")).alias("kind"),
        pl.when(restock).then(pl.col("quantity")).otherwise(0).alias("delta_on_hand"),
        pl.lit(0).alias("delta_reserved"), pl.col("order_id").alias("reference"),
        pl.lit(False).alias("location_inferred"), arrived().alias("arrived_at"),
    )).with_columns(pl.col("business_day").fill_null(pl.col("event_time").dt.date()))


def receipt_rows(purchase_orders: pl.DataFrame) -> pl.DataFrame:
    """Supplier-reported deliveries (fallback for a WMS receipt not synced yet)."""
    if not has_rows(purchase_orders, "po_number", "delivered_at"):
        return empty_ledger()
    p = with_lineage(purchase_orders).filter(pl.col("delivered_at").is_not_null()
                                             & pl.col("product_id").is_not_null())
    # the supplier confirms 30 s after the dock books the receipt
    t = pl.col("delivered_at") - pl.duration(seconds=30)
    return as_ledger(p.select(
        "product_id", "location_id", t.alias("event_time"),
        (t - pl.duration(hours=DAY_START_UTC_HOUR)).dt.date().alias("business_day"),
        pl.lit("suppliers").alias("source"), pl.col("po_number").alias("source_event_id"),
        (pl.lit("receipt:") + pl.col("po_number")).alias("event_key"),
        pl.lit("receipt").alias("kind"),
        pl.coalesce("delivered_qty", "ordered_qty").alias("delta_on_hand"),
        pl.lit(0).alias("delta_reserved"), pl.col("po_number").alias("reference"),
        pl.lit(False).alias("location_inferred"), arrived().alias("arrived_at"),
    ))
