"""Stock and buying: the WMS movement ledger and purchase orders folded from their events.

Movements keep the WMS's per-site ``seq_no`` next to the event time: the inventory ledger folds
in event time and uses the sequence to order movements that share a timestamp. A purchase order
is two kinds of event (created, delivered) that can arrive in any order or batch, so silver
keeps the deduplicated events and re-folds every PO a batch touches from all of its events.
"""

from __future__ import annotations

import polars as pl

from lakehouse.silver.frames import LINEAGE, event_date, known_at, lineage, with_knowledge
from lakehouse.silver.products import map_product

MOVEMENT_COLUMNS = (
    "movement_id", "seq_no", "location_id", "product_id", "item_code", "movement_type", "qty",
    "counted_qty", "reference", "event_time", "event_date", *LINEAGE,
)


def conform_wms_movements(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                          ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.with_columns(pl.col("site_code").alias("location_id"), event_date())
    good, bad = map_product(rows, crosswalk, system="wms", code="item_code", channel="wms",
                            entity="movements")
    return good.select(MOVEMENT_COLUMNS), bad


PO_EVENT_COLUMNS = (
    "event_id", "po_number", "event", "supplier_id", "product_id", "wms_item_code",
    "location_id", "qty", "promised_date", "event_time", *LINEAGE,
)


def conform_purchase_orders(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                            ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.with_columns(pl.col("site_code").alias("location_id"))
    good, bad = map_product(rows, crosswalk, system="wms", code="wms_item_code",
                            channel="suppliers", entity="purchase_orders")
    return good.select(PO_EVENT_COLUMNS), bad


def fold_purchase_orders(events: pl.DataFrame) -> pl.DataFrame:
    """One row per PO from its (deduplicated) events: ordered and delivered quantities, the
    promised date, first delivery time and delay in days (late > 0); lineage of its latest
    event, and as knowledge time (``_delivered_at``) the latest of its events': when the folded
    state became known."""
    events = with_knowledge(events)
    created = pl.col("event") == "created"
    delivered = pl.col("event") == "delivered"
    ordered = events.sort("event_time", "_source_file", "_line")
    folded = ordered.group_by("po_number", maintain_order=True).agg(
        pl.col("supplier_id").filter(created).first().fill_null(pl.col("supplier_id").first()),
        pl.col("product_id").first(), pl.col("wms_item_code").first(),
        pl.col("location_id").first(),
        pl.col("qty").filter(created).sum().alias("ordered_qty"),
        pl.col("promised_date").filter(created).first()
        .fill_null(pl.col("promised_date").first()),
        pl.col("event_time").filter(created).min().alias("ordered_at"),
        pl.col("event_time").filter(delivered).min().alias("delivered_at"),
        pl.col("qty").filter(delivered).sum().alias("delivered_qty"),
        pl.col("event_id").count().cast(pl.Int64).alias("events"),
        *[pl.col(c).last() for c in ("_source_file", "_line", "_batch_id", "_ingested_at")],
        # the folded state became known when its last-known event did
        known_at().max().alias("_delivered_at"),
    )
    return folded.with_columns(
        (pl.col("delivered_at").dt.date() - pl.col("promised_date")).dt.total_days()
        .cast(pl.Int64).alias("delay_days"),
        pl.when(pl.col("delivered_at").is_not_null()).then(pl.lit("delivered"))
        .otherwise(pl.lit("open")).alias("status"),
    ).select(
        "po_number", "supplier_id", "product_id", "wms_item_code", "location_id", "ordered_qty",
        "promised_date", "ordered_at", "delivered_at", "delivered_qty", "delay_days", "status",
        "events", *lineage(),
    ).sort("po_number")
