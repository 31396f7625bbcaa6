"""Who may sell what: availability per sales channel, and fulfilment options by shipping zone.

The allocation rule (one rule, the same for every consumer):

1. At each location, units held for open online orders (``reserved``) are not for sale; the
   rest is available to promise (``available_to_promise``, ATP).
2. ``web`` and ``app`` sell the warehouses' ATP as one shared online pool, first come first
   served. There is no ring-fencing between them: they are one shop platform with one order
   router, and splitting the pool is exactly what makes the website say "available" while the
   app says "sold out". An online order is routed to a warehouse that can ship it to the
   shopper's zone (``fulfilment_options``: cheapest first, then fastest).
3. Each store sells its own shelf (its ATP) over its tills, and only that: stores do not sell
   warehouse stock and online channels do not sell store stock (this retailer has no
   ship-from-store or click-and-collect).
4. Safety buffer, online only: a warehouse holds back ``at_risk``, the units it has probably
   lost to unrecorded shrinkage since its last cycle count (rate learnt from what past counts
   revealed at that location), so the web does not promise stock that is likely gone. A store
   does not: a till sells what a shopper brings to it.
5. Transfers in transit are on no shelf: sellable nowhere until booked in.

``sellable`` is what a channel may sell from a location:
``max(0, available_to_promise - round(at_risk))`` online, ``available_to_promise`` in a store.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from lakehouse.inventory.fold import KEY, running

ONLINE_CHANNELS = ("web", "app")
SERVICES = ("standard", "express")

CHANNEL_SCHEMA = {"product_id": pl.String, "channel": pl.String, "location_id": pl.String,
                  "on_hand": pl.Int64, "reserved": pl.Int64, "available_to_promise": pl.Int64,
                  "at_risk": pl.Float64, "sellable": pl.Int64}

FULFILMENT_SCHEMA = {"product_id": pl.String, "zone": pl.String, "location_id": pl.String,
                     "service": pl.String, "sellable": pl.Int64, "shipping_cost": pl.Float64,
                     "transit_days": pl.Int64, "backlog_orders": pl.Int64,
                     "ship_capacity_per_day": pl.Int64, "dispatch_in_days": pl.Int64,
                     "delivery_days": pl.Int64, "rank": pl.Int64}


def shrinkage_rates(ledger: pl.DataFrame, as_of: datetime | None = None) -> pl.DataFrame:
    """``location_id, shrinkage_rate``: units lost per unit on hand per day, from what the
    location's cycle counts revealed (loss over the on-hand-days between consecutive counts
    of a key; the on hand just before the count stands for the interval)."""
    led = ledger if as_of is None else ledger.filter(pl.col("event_time") <= as_of)
    if led.is_empty():
        return pl.DataFrame(schema={"location_id": pl.String, "shrinkage_rate": pl.Float64})
    run = running(led)
    is_count = pl.col("absolute_on_hand").is_not_null()
    counts = run.filter(is_count).with_columns(
        pl.col("event_time").shift(1).over(KEY).alias("_prev"))
    c = counts.filter(pl.col("_prev").is_not_null() & pl.col("shrinkage").is_not_null())
    days = (pl.col("event_time") - pl.col("_prev")).dt.total_seconds() / 86400.0
    before = (pl.col("absolute_on_hand") - pl.col("shrinkage")).clip(lower_bound=0)
    return (c.group_by("location_id")
            .agg((-pl.col("shrinkage")).sum().alias("_lost"), (before * days).sum().alias("_ud"))
            .select("location_id", pl.when(pl.col("_ud") > 0)
                    .then((pl.col("_lost") / pl.col("_ud")).clip(lower_bound=0.0))
                    .otherwise(0.0).alias("shrinkage_rate"))
            .sort("location_id"))


def with_at_risk(pos: pl.DataFrame, ledger: pl.DataFrame, now: datetime | None,
                 as_of: datetime | None = None) -> pl.DataFrame:
    """``pos`` (a positions frame with ``on_hand``, ``last_count_time``) plus ``at_risk``:
    on hand x the location's shrinkage rate x days since the key's last count (since its first
    event if never counted)."""
    if pos.is_empty() or now is None:
        return pos.with_columns(pl.lit(0.0).alias("at_risk"))
    rates = shrinkage_rates(ledger, as_of)
    led = ledger if as_of is None else ledger.filter(pl.col("event_time") <= as_of)
    first = led.group_by(KEY).agg(pl.col("event_time").min().alias("_first"))
    since = pl.coalesce("last_count_time", "_first")
    days = ((pl.lit(now) - since).dt.total_seconds() / 86400.0).clip(lower_bound=0.0)
    return (pos.join(first, on=KEY, how="left").join(rates, on="location_id", how="left")
            .with_columns((pl.col("on_hand").clip(lower_bound=0)
                           * pl.col("shrinkage_rate").fill_null(0.0) * days.fill_null(0.0))
                          .alias("at_risk"))
            .drop("_first", "shrinkage_rate"))


def channel_of(locations: pl.DataFrame) -> pl.DataFrame:
    """``channel, location_id``: every location each channel sells from (the rule above)."""
    wh = locations.filter(pl.col("type") == "warehouse")["location_code"].to_list()
    st = locations.filter(pl.col("type") == "store")["location_code"].to_list()
    rows = [(ch, w) for ch in ONLINE_CHANNELS for w in wh] + [(s, s) for s in st]
    return pl.DataFrame(rows, schema={"channel": pl.String, "location_id": pl.String},
                        orient="row")


def sellable() -> pl.Expr:
    online = pl.col("channel").is_in(list(ONLINE_CHANNELS))
    held = (pl.col("at_risk").fill_null(0.0) + 0.5).floor().cast(pl.Int64)  # expected loss
    return (pl.when(online).then((pl.col("available_to_promise") - held).clip(lower_bound=0))
            .otherwise(pl.col("available_to_promise"))).alias("sellable")


def channel_availability(pos: pl.DataFrame, locations: pl.DataFrame,
                         channels: list[str] | None = None) -> pl.DataFrame:
    """``CHANNEL_SCHEMA`` per product x channel x location it sells from; ``pos`` is a
    positions frame with ``at_risk`` (``with_at_risk``)."""
    if locations.is_empty():
        raise ValueError("channel availability needs the locations table")
    routes = channel_of(locations)
    if channels is not None:
        unknown = sorted(set(channels) - set(routes["channel"]))
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}: web, app or a store code "
                             f"{sorted(set(routes['channel']) - set(ONLINE_CHANNELS))}")
        routes = routes.filter(pl.col("channel").is_in(channels))
    if "at_risk" not in pos.columns:
        pos = pos.with_columns(pl.lit(0.0).alias("at_risk"))
    out = pos.join(routes, on="location_id", how="inner").with_columns(sellable())
    return out.select(list(CHANNEL_SCHEMA)).cast(CHANNEL_SCHEMA).sort(
        "product_id", "channel", "location_id")


def open_orders(ledger: pl.DataFrame, as_of: datetime | None = None) -> pl.DataFrame:
    """``location_id, backlog_orders``: online orders reserved at a location and neither
    picked nor cancelled yet (the parcels queued ahead of a new order)."""
    led = ledger if as_of is None else ledger.filter(pl.col("event_time") <= as_of)
    res = led.filter((pl.col("delta_reserved") != 0) & pl.col("reference").is_not_null())
    return (res.group_by("reference", "location_id")
            .agg(pl.col("delta_reserved").sum().alias("_open"))
            .filter(pl.col("_open") > 0).group_by("location_id")
            .agg(pl.len().cast(pl.Int64).alias("backlog_orders")))


# how the order router ranks the options of one product, zone and service: cheapest, then
# fastest, then by location code (rank 1 is its choice); the HTTP API ranks by the same key
OPTION_ORDER = ("service", "shipping_cost", "delivery_days", "location_id")


def fulfilment_options(online: pl.DataFrame, ledger: pl.DataFrame, locations: pl.DataFrame,
                       shipping_rates: pl.DataFrame, zone: str | list[str] | None = None,
                       quantity: int = 1, service: str | None = None,
                       as_of: datetime | None = None) -> pl.DataFrame:
    """Which locations can ship ``quantity`` units of a product to a shipping zone, at what
    cost and in how many days, within their daily parcel capacity (``FULFILMENT_SCHEMA``).

    ``online``: channel availability of the ``web`` channel (``sellable`` per product x
    warehouse). A location qualifies if it sells online, ships parcels
    (``ship_capacity_per_day`` > 0) and has ``sellable >= quantity``. Capacity: the orders
    already queued there (``backlog_orders``) dispatch first, ``ship_capacity_per_day`` a day,
    so a new order leaves in ``dispatch_in_days = backlog // capacity`` days and arrives in
    ``delivery_days = dispatch_in_days + transit_days``. ``rank`` 1 is the option the router
    takes per product, zone and service: cheapest, then fastest, then location code."""
    if locations.is_empty() or shipping_rates.is_empty():
        raise ValueError("fulfilment options need the locations and shipping_rates tables")
    cap = pl.col("ship_capacity_per_day")
    nodes = locations.select(pl.col("location_code").alias("location_id"),
                             pl.col("zone").alias("from_zone"),
                             cap.fill_null(0).cast(pl.Int64)).filter(cap > 0)
    rates = shipping_rates.select("from_zone", pl.col("to_zone").alias("zone"), "service",
                                  pl.col("cost").alias("shipping_cost"),
                                  pl.col("days").cast(pl.Int64).alias("transit_days"))
    if zone is not None:
        rates = rates.filter(pl.col("zone").is_in([zone] if isinstance(zone, str) else zone))
    if service is not None:
        rates = rates.filter(pl.col("service") == service)
    stock = (online.filter(pl.col("sellable") >= quantity)
             .select("product_id", "location_id", "sellable").unique(subset=KEY))
    backlog = open_orders(ledger, as_of)
    out = (stock.join(nodes, on="location_id")
           .join(backlog, on="location_id", how="left")
           .with_columns(pl.col("backlog_orders").fill_null(0))
           .join(rates, on="from_zone")
           .with_columns((pl.col("backlog_orders") // cap).alias("dispatch_in_days"))
           .with_columns((pl.col("dispatch_in_days") + pl.col("transit_days"))
                         .alias("delivery_days")))
    if out.is_empty():
        return pl.DataFrame(schema=FULFILMENT_SCHEMA)
    out = out.sort("product_id", "zone", *OPTION_ORDER).with_columns(
        pl.int_range(1, pl.len() + 1).over("product_id", "zone", "service").alias("rank"))
    return out.select(list(FULFILMENT_SCHEMA)).cast(FULFILMENT_SCHEMA)
