"""The inventory ledger: one row per stock-affecting event, keyed by canonical product and
location, in event time.

Why a ledger: every system (WMS, tills, shop platform, returns desk, suppliers) reports its own
events on its own schedule. Positions are a fold over this one table, so they depend on the set
of events only, never on when or in which batch they arrived.

Sources and their effect on (on hand, reserved):

- WMS ``RECEIPT``/``TRANSFER_IN``/``RETURN_RESTOCK`` +qty; ``PICK`` -qty on hand and -qty
  reserved (it fulfils a shop reservation); ``TRANSFER_OUT`` -qty; ``ADJUSTMENT`` signed qty;
  ``CYCLE_COUNT`` an absolute on-hand snapshot (``absolute_on_hand``).
- tills: a sale line takes stock off the store shelf (no WMS row exists for it).
- shop: reserve at order, release at cancel, at the warehouse that picked (or shipped) it; the
  business day is the shopper's local day of the visit the order was placed in (clickstream
  session start: an order at 00:02 in a visit begun at 23:55 closes into the day before); an
  order not yet picked is placed where the shop would have reserved it (nearest warehouse by
  shipping cost with free stock), flagged ``location_inferred``.
- returns: a restock with no WMS row yet (sync lag) is synthesised from the returns desk; a
  write-off is kept as a zero-delta row (lineage of returns by reason).
- suppliers: a delivered purchase order with no WMS receipt is synthesised from the PO feed.

``event_key`` identifies the physical event across systems (a WMS receipt and the supplier's
"delivered" event share it), so a cross-system fallback never double counts.
``business_day`` is the retailer's operating day the event closes into: for stock locations the
day starts at ``DAY_START_UTC_HOUR`` (07:00 UTC, the first WMS movement, after the last store
closes); for a shopper's order it is the shopper's local day of the visit it was placed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from lakehouse.storage.validations import read_validated, scan_validated

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

# within one instant: a count is the state at that instant, other events apply after it
KIND_RANK = {"cycle_count": 0}

# predominant time zone per US state: a shopper's business day is their local day
STATE_TZ = {
    **dict.fromkeys(("CT", "DE", "FL", "GA", "IN", "KY", "MA", "MD", "ME", "MI", "NC", "NH",
                     "NJ", "NY", "OH", "PA", "RI", "SC", "VA", "VT", "WV", "DC"),
                    "America/New_York"),
    **dict.fromkeys(("AL", "AR", "IA", "IL", "KS", "LA", "MN", "MO", "MS", "ND", "NE", "OK",
                     "SD", "TN", "TX", "WI"), "America/Chicago"),
    **dict.fromkeys(("CO", "ID", "MT", "NM", "UT", "WY"), "America/Denver"),
    "AZ": "America/Phoenix",
    **dict.fromkeys(("CA", "NV", "OR", "WA"), "America/Los_Angeles"),
    "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
}

WMS_DELTA = {
    "RECEIPT": 1, "TRANSFER_IN": 1, "RETURN_RESTOCK": 1, "PICK": -1, "TRANSFER_OUT": -1,
    "ADJUSTMENT": 1,  # signed in the feed
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


SILVER_TABLES = {
    "movements": "inventory_movements", "pos_lines": "pos_transaction_lines",
    "orders": "orders", "order_lines": "order_lines", "shipments": "shipments",
    "returns": "returns", "purchase_orders": "purchase_orders", "locations": "locations",
    "shipping_rates": "shipping_rates",
}


def read_silver(home: str | Path) -> SilverInputs:
    """Read the ledger's inputs from ``H/lake/silver`` at their validated pins (a missing
    table reads as empty; one with no validated version raises ``NotValidatedError``)."""
    root = Path(home) / "lake" / "silver"
    frames = {}
    for name, table in SILVER_TABLES.items():
        frame = read_validated(root / table)
        frames[name] = pl.DataFrame() if frame is None else frame
    clicks = scan_validated(root / "clickstream_events")
    if clicks is not None:
        frames["order_sessions"] = order_sessions(clicks)
    return SilverInputs(**frames)


def order_sessions(clickstream: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """``order_id, session_lead``: time from the first event of the visit an order was placed
    in to its purchase event, both on the device's own clock (a skewed app clock cancels out).

    The shop closes a day's orders by visit: an order placed at 00:02 in a visit that began at
    23:55 belongs to the day before (see ``shop_rows``)."""
    lf = clickstream.lazy().select("event_type", "event_time", "session_id", "order_id")
    buys = (lf.filter((pl.col("event_type") == "purchase") & pl.col("order_id").is_not_null()
                      & pl.col("session_id").is_not_null())
            .group_by("order_id").agg(pl.col("session_id").min(),
                                      pl.col("event_time").min().alias("_bought")))
    starts = (lf.join(buys.select("session_id").unique(), on="session_id", how="semi")
              .group_by("session_id").agg(pl.col("event_time").min().alias("_start")))
    return (buys.join(starts, on="session_id")
            .select("order_id", (pl.col("_bought") - pl.col("_start")).clip(
                lower_bound=pl.duration(seconds=0)).alias("session_lead"))
            .collect())


def empty_ledger() -> pl.DataFrame:
    return pl.DataFrame(schema=LEDGER_SCHEMA)


def _ops_day(col: str = "event_time") -> pl.Expr:
    """Operating day of a stock location: the day starts at 07:00 UTC."""
    return (pl.col(col) - pl.duration(hours=DAY_START_UTC_HOUR)).dt.date()


def _arrived() -> pl.Expr:
    """Arrival time (bronze ingestion) of a row: used by alert watermarks, never by the fold."""
    return pl.col("_ingested_at").cast(pl.Datetime("us", "UTC"))


def _has(frame: pl.DataFrame, *cols: str) -> bool:
    return frame.height > 0 and all(c in frame.columns for c in cols)


def _lineage(frame: pl.DataFrame) -> pl.DataFrame:
    if "_ingested_at" in frame.columns:
        return frame
    return frame.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("_ingested_at"))


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast to the ledger schema, column order fixed."""
    return frame.select([pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
                         for c, t in LEDGER_SCHEMA.items()])


def wms_rows(movements: pl.DataFrame) -> pl.DataFrame:
    if not _has(movements, "movement_id", "movement_type"):
        return empty_ledger()
    m = _lineage(movements).unique(subset=["movement_id"], keep="first").filter(
        pl.col("product_id").is_not_null() & pl.col("location_id").is_not_null())
    mtype = pl.col("movement_type")
    sign = mtype.replace_strict(WMS_DELTA, default=0, return_dtype=pl.Int64)
    qty = pl.col("qty").fill_null(0)
    delta = pl.when(mtype == "CYCLE_COUNT").then(0).otherwise(sign * qty)
    key = (pl.when(mtype == "RECEIPT").then(pl.lit("receipt:") + pl.col("reference"))
           .when(mtype == "RETURN_RESTOCK").then(pl.lit("restock:") + pl.col("reference"))
           .otherwise(pl.lit("wms:") + pl.col("movement_id")))
    return _finish(m.select(
        "product_id", "location_id", "event_time",
        _ops_day().alias("business_day"),
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
        _arrived().alias("arrived_at"),
    ))


def pos_rows(pos_lines: pl.DataFrame, locations: pl.DataFrame) -> pl.DataFrame:
    """Till sales: stock leaves the store shelf at the sale; the day is the store's day."""
    if not _has(pos_lines, "transaction_id", "line_no"):
        return empty_ledger()
    p = _lineage(pos_lines).unique(subset=["transaction_id", "line_no"], keep="first").filter(
        pl.col("product_id").is_not_null())
    eid = pl.col("transaction_id") + "#" + pl.col("line_no").cast(pl.String)
    return _finish(p.select(
        "product_id", "location_id", "event_time", _ops_day().alias("business_day"),
        pl.lit("pos").alias("source"), eid.alias("source_event_id"),
        (pl.lit("pos:") + eid).alias("event_key"), pl.lit("sale").alias("kind"),
        (-pl.col("quantity")).alias("delta_on_hand"), pl.lit(0).alias("delta_reserved"),
        pl.col("transaction_id").alias("reference"), pl.lit(False).alias("location_inferred"),
        _arrived().alias("arrived_at"),
    ))


def _local_day(time_col: str, tz_col: str) -> pl.Expr:
    """Calendar day of ``time_col`` in the per-row time zone ``tz_col`` (UTC-7h if unknown)."""
    out = _ops_day(time_col)
    for tz in sorted(set(STATE_TZ.values())):
        out = pl.when(pl.col(tz_col) == tz).then(
            pl.col(time_col).dt.convert_time_zone(tz).dt.date()).otherwise(out)
    return out


def order_locations(movements: pl.DataFrame, shipments: pl.DataFrame) -> pl.DataFrame:
    """(order_id, location_id) where each order was picked: WMS first, then the carrier."""
    parts = []
    if _has(movements, "movement_type", "reference"):
        parts.append(movements.filter(pl.col("movement_type") == "PICK").select(
            pl.col("reference").alias("order_id"), "location_id", pl.lit(0).alias("_pri")))
    if _has(shipments, "order_id", "location_id"):
        parts.append(shipments.select("order_id", "location_id", pl.lit(1).alias("_pri")))
    if not parts:
        return pl.DataFrame(schema={"order_id": pl.String, "location_id": pl.String})
    return (pl.concat(parts).drop_nulls().sort("order_id", "_pri", "location_id")
            .unique(subset=["order_id"], keep="first").drop("_pri"))


def _latest_orders(orders: pl.DataFrame, lines: pl.DataFrame
                   ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One row per order (its latest version) and per order line."""
    o = orders.sort("order_id", "updated_at", nulls_last=False).unique(
        subset=["order_id"], keep="last")
    sort = ["order_id", "line_id"] + (["updated_at"] if "updated_at" in lines.columns else [])
    ln = lines.sort(sort).unique(subset=["order_id", "line_id"], keep="last")
    return o, ln


def shop_rows(inp: SilverInputs, base: pl.DataFrame,
              zones: pl.DataFrame | None = None) -> pl.DataFrame:
    """Reserve at order, release at cancel; picks already come from the WMS (or shipments).

    ``base`` is the ledger without shop rows, used to infer where an unpicked order reserved;
    ``zones`` (``ship_state, zone``) the shopper zone per state when ``inp`` holds only some
    orders (a micro-batch: see ``zone_of_state``).
    """
    if not _has(inp.orders, "order_id", "created_at") or not _has(inp.order_lines, "order_id"):
        return empty_ledger()
    orders, lines = _latest_orders(_lineage(inp.orders), inp.order_lines)
    tz = pl.col("ship_state").replace_strict(STATE_TZ, default=None, return_dtype=pl.String) \
        if "ship_state" in orders.columns else pl.lit(None, pl.String)
    o = orders.select("order_id", "created_at", "cancelled_at",
                      pl.col("is_cancelled").fill_null(False),
                      pl.col("ship_state") if "ship_state" in orders.columns
                      else pl.lit(None, pl.String).alias("ship_state"),
                      tz.alias("_tz"), pl.col("_ingested_at").alias("_arr_o"))
    ln = lines.filter(pl.col("product_id").is_not_null()).select(
        "order_id", "line_id", "product_id", "quantity")
    j = ln.join(o, on="order_id", how="inner")
    where = order_locations(inp.movements, inp.shipments)
    j = j.join(where, on="order_id", how="left")
    missing = j.filter(pl.col("location_id").is_null())
    if missing.height:
        guess = infer_order_locations(missing, inp, base, zones)
        j = j.join(guess, on="order_id", how="left", suffix="_g").with_columns(
            pl.col("location_id").is_null().alias("location_inferred"),
            pl.coalesce("location_id", "location_id_g").alias("location_id"),
        ).drop("location_id_g")
    else:
        j = j.with_columns(pl.lit(False).alias("location_inferred"))
    j = j.filter(pl.col("location_id").is_not_null())
    lead = pl.duration(seconds=0)
    if _has(inp.order_sessions, "order_id", "session_lead"):
        j = j.join(inp.order_sessions.select("order_id", "session_lead"), on="order_id",
                   how="left")
        lead = pl.col("session_lead").fill_null(pl.duration(seconds=0))
    # the day a shop event closes into is the shopper's local day of the visit it belongs to
    j = j.with_columns((pl.col("created_at") - lead).alias("_visit"),
                       (pl.col("cancelled_at") - lead).alias("_cancel_visit"))
    reserve = j.select(
        "product_id", "location_id", pl.col("created_at").alias("event_time"),
        _local_day("_visit", "_tz").alias("business_day"), pl.lit("shop").alias("source"),
        (pl.col("line_id") + ":reserve").alias("source_event_id"),
        (pl.lit("shop:") + pl.col("line_id") + ":reserve").alias("event_key"),
        pl.lit("reserve").alias("kind"), pl.lit(0).alias("delta_on_hand"),
        pl.col("quantity").alias("delta_reserved"), pl.col("order_id").alias("reference"),
        "location_inferred", pl.col("_arr_o").alias("arrived_at"))
    cancel = j.filter(pl.col("is_cancelled") & pl.col("cancelled_at").is_not_null()).select(
        "product_id", "location_id", pl.col("cancelled_at").alias("event_time"),
        _local_day("_cancel_visit", "_tz").alias("business_day"),
        pl.lit("shop").alias("source"),
        (pl.col("line_id") + ":release").alias("source_event_id"),
        (pl.lit("shop:") + pl.col("line_id") + ":release").alias("event_key"),
        pl.lit("release").alias("kind"), pl.lit(0).alias("delta_on_hand"),
        (-pl.col("quantity")).alias("delta_reserved"), pl.col("order_id").alias("reference"),
        "location_inferred", pl.col("_arr_o").alias("arrived_at"))
    return _finish(pl.concat([reserve, cancel]))


def zone_of_state(shipments: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    """``ship_state, zone``: the shopper zone per state, learnt from the shipments the carrier
    already reported (the most frequent zone per state)."""
    if not _has(shipments, "order_id", "zone") or not _has(orders, "order_id", "ship_state"):
        return pl.DataFrame(schema={"ship_state": pl.String, "zone": pl.String})
    return (shipments.select("order_id", "zone")
            .join(orders.select("order_id", "ship_state"), on="order_id")
            .group_by("ship_state", "zone").agg(pl.len().alias("n"))
            .sort("ship_state", "n", "zone", descending=[False, True, False])
            .unique(subset=["ship_state"], keep="first").drop("n"))


def infer_order_locations(missing: pl.DataFrame, inp: SilverInputs,
                          base: pl.DataFrame, zones: pl.DataFrame | None = None
                          ) -> pl.DataFrame:
    """Where an order that no system has picked yet holds its reservation: the cheapest
    warehouse to ship to the shopper's zone that had free stock of the order's first product
    at order time (the shop's own routing rule), else the cheapest."""
    locs, rates = inp.locations, inp.shipping_rates
    if not _has(locs, "location_code", "type", "zone") or not _has(rates, "from_zone"):
        return pl.DataFrame(schema={"order_id": pl.String, "location_id": pl.String})
    # shopper zone by state, learnt from shipments the carrier already reported
    zones = zone_of_state(inp.shipments, inp.orders) if zones is None else zones
    wh = locs.filter(pl.col("type") == "warehouse").select(
        pl.col("location_code").alias("location_id"), pl.col("zone").alias("from_zone"))
    std = rates.filter(pl.col("service") == "standard").select(
        "from_zone", pl.col("to_zone").alias("zone"), "cost")
    first = (missing.sort("order_id", "line_id").unique(subset=["order_id"], keep="first")
             .select("order_id", "product_id", "created_at", "ship_state")
             .join(zones, on="ship_state", how="left"))
    cand = (first.join(wh, how="cross").join(std, on=["from_zone", "zone"], how="left")
            .with_columns(pl.col("cost").fill_null(float("inf")))
            .sort("order_id", "cost", "location_id"))
    # stock of the first product at each candidate just before the order: on hand (``base``
    # holds no reservations, only picks, so on hand less its "reserved" would add past picks
    # back; on hand alone also needs only the key's rows since its last count)
    pos = running_positions(base)
    if pos.height:
        pos = pos.select("product_id", "location_id", "event_time",
                         pl.col("on_hand").alias("free")).sort("event_time")
        cand = cand.sort("created_at").join_asof(
            pos, left_on="created_at", right_on="event_time", by=["product_id", "location_id"],
            strategy="backward", check_sortedness=False).sort("order_id", "cost", "location_id")
    else:
        cand = cand.with_columns(pl.lit(None, pl.Int64).alias("free"))
    pick = cand.with_columns((pl.col("free").fill_null(0) > 0).alias("ok"))
    chosen = (pick.sort("order_id", "ok", "cost", "location_id",
                        descending=[False, True, False, False])
              .unique(subset=["order_id"], keep="first"))
    # no warehouse had free stock: the shop falls back to the nearest
    nearest = cand.unique(subset=["order_id"], keep="first").select("order_id", "location_id")
    chosen = chosen.select("order_id", pl.when(pl.col("ok")).then(pl.col("location_id"))
                           .alias("loc"))
    return nearest.join(chosen, on="order_id").select(
        "order_id", pl.coalesce("loc", "location_id").alias("location_id"))


def return_rows(returns: pl.DataFrame) -> pl.DataFrame:
    """Returns desk: a restock (fallback for a WMS restock not synced yet) or a write-off."""
    if not _has(returns, "return_id", "disposition"):
        return empty_ledger()
    r = _lineage(returns).unique(subset=["return_id"], keep="first").filter(
        pl.col("product_id").is_not_null() & pl.col("location_id").is_not_null())
    restock = pl.col("disposition") == "restock"
    # the WMS books the restock a minute after the desk accepts the return
    t = pl.when(restock).then(pl.col("event_time") + pl.duration(seconds=60)) \
        .otherwise(pl.col("event_time"))
    return _finish(r.select(
        "product_id", "location_id", t.alias("event_time"),
        _ops_day().alias("business_day"), pl.lit("returns").alias("source"),
        pl.col("return_id").alias("source_event_id"),
        pl.when(restock).then(pl.lit("restock:") + pl.col("return_id"))
        .otherwise(pl.lit("returns:") + pl.col("return_id")).alias("event_key"),
        pl.when(restock).then(pl.lit("return_restock")).otherwise(
            pl.lit("return_write_off")).alias("kind"),
        pl.when(restock).then(pl.col("quantity")).otherwise(0).alias("delta_on_hand"),
        pl.lit(0).alias("delta_reserved"), pl.col("order_id").alias("reference"),
        pl.lit(False).alias("location_inferred"), _arrived().alias("arrived_at"),
    )).with_columns(pl.col("business_day").fill_null(pl.col("event_time").dt.date()))


def receipt_rows(purchase_orders: pl.DataFrame) -> pl.DataFrame:
    """Supplier-reported deliveries (fallback for a WMS receipt not synced yet)."""
    if not _has(purchase_orders, "po_number", "delivered_at"):
        return empty_ledger()
    p = _lineage(purchase_orders).filter(pl.col("delivered_at").is_not_null()
                               & pl.col("product_id").is_not_null())
    # the supplier confirms 30 s after the dock books the receipt
    t = pl.col("delivered_at") - pl.duration(seconds=30)
    return _finish(p.select(
        "product_id", "location_id", t.alias("event_time"),
        (t - pl.duration(hours=DAY_START_UTC_HOUR)).dt.date().alias("business_day"),
        pl.lit("suppliers").alias("source"), pl.col("po_number").alias("source_event_id"),
        (pl.lit("receipt:") + pl.col("po_number")).alias("event_key"),
        pl.lit("receipt").alias("kind"),
        pl.coalesce("delivered_qty", "ordered_qty").alias("delta_on_hand"),
        pl.lit(0).alias("delta_reserved"), pl.col("po_number").alias("reference"),
        pl.lit(False).alias("location_inferred"), _arrived().alias("arrived_at"),
    ))


SOURCE_PRIORITY = {"wms": 0, "pos": 0, "shop": 0, "returns": 1, "suppliers": 1}


def canonical(ledger: pl.DataFrame) -> pl.DataFrame:
    """One row per physical event (``event_key``; the system of record wins over a fallback),
    in fold order. A pure function of the set of rows: any arrival order gives the same."""
    if ledger.is_empty():
        return _finish(ledger)
    pri = pl.col("source").replace_strict(SOURCE_PRIORITY, default=2, return_dtype=pl.Int64)
    # a known location wins over an inferred one (a reservation the pick later placed)
    return (ledger.with_columns(pri.alias("_pri"))
            .sort("event_key", "_pri", "location_inferred", "source_event_id", "event_time",
                  "arrived_at", "location_id", nulls_last=True)
            .unique(subset=["event_key"], keep="first")
            .drop("_pri")
            .pipe(sort_fold_order))


def sort_fold_order(ledger: pl.DataFrame) -> pl.DataFrame:
    """Event-time order: (product, location, event time, count first, event key)."""
    rank = pl.col("kind").replace_strict(KIND_RANK, default=1, return_dtype=pl.Int64)
    return ledger.with_columns(rank.alias("_rank")).sort(
        "product_id", "location_id", "event_time", "_rank", "event_key").drop("_rank")


def build_ledger(inp: SilverInputs) -> pl.DataFrame:
    """The whole ledger from silver frames: one row per stock-affecting event."""
    base = pl.concat([
        wms_rows(inp.movements),
        pos_rows(inp.pos_lines, inp.locations),
        return_rows(inp.returns),
        receipt_rows(inp.purchase_orders),
    ])
    base = canonical(base)
    shop = shop_rows(inp, base)
    return canonical(pl.concat([base, shop]))


def running_positions(ledger: pl.DataFrame) -> pl.DataFrame:
    """Every ledger row with the position right after it (event-time fold; see fold.py)."""
    from lakehouse.inventory.fold import running

    return running(ledger)
