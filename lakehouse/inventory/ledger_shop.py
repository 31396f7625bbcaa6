"""Ledger rows from the shop platform (its effect on on hand and reserved: ``ledger.py``):
the business day of an order from its shop visit (``order_sessions``), where the order holds
its reservation (``order_locations``, else ``infer_order_locations``), and the rows
(``shop_rows``).
"""

from __future__ import annotations

import polars as pl

from lakehouse.inventory.ledger_rows import (
    SilverInputs,
    as_ledger,
    empty_ledger,
    has_rows,
    ops_day,
    with_lineage,
)

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


def _local_day(time_col: str, tz_col: str) -> pl.Expr:
    """Calendar day of ``time_col`` in the per-row time zone ``tz_col`` (UTC-7h if unknown)."""
    out = ops_day(time_col)
    for tz in sorted(set(STATE_TZ.values())):
        out = pl.when(pl.col(tz_col) == tz).then(
            pl.col(time_col).dt.convert_time_zone(tz).dt.date()).otherwise(out)
    return out


def order_locations(movements: pl.DataFrame, shipments: pl.DataFrame) -> pl.DataFrame:
    """(order_id, location_id) where each order was picked: WMS first, then the carrier."""
    parts = []
    if has_rows(movements, "movement_type", "reference"):
        parts.append(movements.filter(pl.col("movement_type") == "PICK").select(
            pl.col("reference").alias("order_id"), "location_id", pl.lit(0).alias("_pri")))
    if has_rows(shipments, "order_id", "location_id"):
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
    if not has_rows(inp.orders, "order_id", "created_at") \
            or not has_rows(inp.order_lines, "order_id"):
        return empty_ledger()
    orders, lines = _latest_orders(with_lineage(inp.orders), inp.order_lines)
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
    if has_rows(inp.order_sessions, "order_id", "session_lead"):
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
    return as_ledger(pl.concat([reserve, cancel]))


def zone_of_state(shipments: pl.DataFrame, orders: pl.DataFrame) -> pl.DataFrame:
    """``ship_state, zone``: the shopper zone per state, learnt from the shipments the carrier
    already reported (the most frequent zone per state)."""
    if not has_rows(shipments, "order_id", "zone") \
            or not has_rows(orders, "order_id", "ship_state"):
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
    if not has_rows(locs, "location_code", "type", "zone") or not has_rows(rates, "from_zone"):
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


def running_positions(ledger: pl.DataFrame) -> pl.DataFrame:
    """Every ledger row with the position right after it (event-time fold; see fold.py)."""
    # imported here: fold.py imports ledger.py, which imports this module
    from lakehouse.inventory.fold import running

    return running(ledger)
