"""Daily demand history per product x location, from validated tables: sales are not demand.

Sources (each read at its validated pin):

- ``gold/inventory_daily``: on hand, reserved and available to promise (ATP) at the close of
  each business day;
- ``silver/inventory_ledger``: units sold per business day. At a store these are the till
  sales (``kind = 'sale'``, units = -delta_on_hand); at a warehouse the units customers
  ordered online that it reserved (``kind = 'reserve'``, units = delta_reserved). A later
  cancellation (``release``) does not undo the demand: the customer wanted the units that day.
  Picks, receipts, transfers, counts, adjustments and returns move stock, not demand;
- ``silver/products``: list price, category and launch date;
- ``silver/promotions``: discount per category (null or empty category: every category),
  ``[start_date, end_date]`` and the channels it runs in;
- ``silver/locations``: location type, which says which channels a location sells through (a
  ``store`` sells over its tills; any other location type fulfils the online shop: web and
  app).

Stock-outs censor demand. A day is ``in_stock`` when the location had free stock at its open
(ATP at the previous close > 0) or at its close. A store's day is ``censored`` when it opened
or closed with no free stock: its till sales show at most what the shelf held, not what was
wanted. Locations that are not stores sell one shared online pool (web and app; the channel
rule of ``lakehouse.inventory.channels``): an order one of them cannot take goes to another, so
its demand moved rather than went unmet. Such a day is censored only when the pool ran dry too
(the product's free stock summed over those locations was zero at the open or at the close).
``demand`` is ``sold`` on uncensored days; on a censored day it is the expected demand given
what sold, ``E[D | D >= sold]``, under the day-of-week profile model fitted on the history
(``profile.impute``): a stock-out never reads as a day without demand, and forecasts are trained
on demand, not on depressed sales (censored days are treated as censored observations, not
dropped: see ``profile.py``).

A key's active days run from its first day with stock on hand or a sale (not before the
product's launch date, nor before the first sale recorded anywhere: the sales data's first day)
to ``as_of``; the frame is dense over them, zero-demand days included.
``as_of`` cuts in event time (business days up to it), not in knowledge time: rows of those
days that landed late are included.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.storage.objects import lake_root
from lakehouse.storage.validations import read_validated

KEY = ["product_id", "location_id"]

HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "product_id": pl.String(),
    "location_id": pl.String(),
    "date": pl.Date(),
    "sold": pl.Int64(),
    "in_stock": pl.Boolean(),
    "censored": pl.Boolean(),
    "demand": pl.Float64(),
    "discount_pct": pl.Float64(),
    "price": pl.Float64(),
}

STORE_TYPE = "store"
STORE_CHANNELS = ("store",)
ONLINE_CHANNELS = ("web", "app")


def _root(home: Home | str | Path) -> Path:
    return home.root if isinstance(home, Home) else Home.resolve(home).root


def _read(root: Path, layer: str, name: str, columns: list[str] | None = None) -> pl.DataFrame:
    frame = read_validated(lake_root(root / "lake") / layer / name, columns=columns)
    return pl.DataFrame() if frame is None else frame


def location_channels(locations: pl.DataFrame) -> pl.DataFrame:
    """``location_id, channel``: the channels each location sells through (one row each): a
    store its tills (``store``), any other location type the online shop (``web``, ``app``)."""
    if locations.is_empty():
        return pl.DataFrame(schema={"location_id": pl.String, "channel": pl.String})
    loc = locations.select(pl.col("location_code").alias("location_id"), "type")
    return (loc.with_columns(
        pl.when(pl.col("type") == STORE_TYPE).then(pl.lit(list(STORE_CHANNELS)))
        .otherwise(pl.lit(list(ONLINE_CHANNELS))).alias("channel"))
        .explode("channel").select("location_id", "channel"))


def discount_calendar(keys: pl.DataFrame, start: date, end: date, products: pl.DataFrame,
                      promotions: pl.DataFrame, locations: pl.DataFrame) -> pl.DataFrame:
    """``product_id, location_id, date, discount_pct`` for every key of ``keys`` and day of
    ``[start, end]`` with a promotion (other days have none).

    A promotion applies to a product of its category (every product when its category is null
    or empty) on the days of ``[start_date, end_date]``, in the channels it lists. A location's
    discount is the mean over the channels it sells through (a warehouse serves web and app
    equally: an app-only 20% reads as 10%); when promotions overlap in a channel the largest
    discount counts."""
    schema = {"product_id": pl.String, "location_id": pl.String, "date": pl.Date,
              "discount_pct": pl.Float64}
    if (promotions.is_empty() or products.is_empty() or locations.is_empty()
            or keys.is_empty()):
        return pl.DataFrame(schema=schema)
    promos = (promotions
              .filter((pl.col("end_date") >= start) & (pl.col("start_date") <= end)
                      & (pl.col("discount_pct") > 0))
              .select(pl.col("category").fill_null(""), "discount_pct",
                      pl.max_horizontal(pl.col("start_date"), pl.lit(start)).alias("s"),
                      pl.min_horizontal(pl.col("end_date"), pl.lit(end)).alias("e"),
                      pl.col("channels").fill_null("").str.to_lowercase().str.split(";")
                      .alias("channel"))
              .explode("channel")
              .with_columns(pl.col("channel").str.strip_chars())
              .filter(pl.col("channel") != ""))
    if promos.is_empty():
        return pl.DataFrame(schema=schema)
    promos = promos.with_columns(pl.date_ranges("s", "e", "1d").alias("date")).explode("date")
    chans = location_channels(locations)
    n_chan = chans.group_by("location_id").agg(pl.len().alias("_n"))
    cats = products.select("product_id", pl.col("category").fill_null(""))
    k = keys.select(KEY).unique().join(cats, on="product_id", how="left").with_columns(
        pl.col("category").fill_null(""))
    specific = promos.filter(pl.col("category") != "")
    every = promos.filter(pl.col("category") == "").drop("category")
    per_cat = pl.concat([
        specific,
        every.join(cats.select("category").unique(), how="cross").select(specific.columns),
    ]).group_by("category", "channel", "date").agg(pl.col("discount_pct").max())
    out = (k.join(chans, on="location_id")
           .join(per_cat, on=["category", "channel"])
           .group_by(*KEY, "date").agg(pl.col("discount_pct").sum().alias("_sum"))
           .join(n_chan, on="location_id")
           .select(*KEY, "date", (pl.col("_sum") / pl.col("_n")).alias("discount_pct")))
    return out.cast(schema).sort(*KEY, "date")


def daily_sales(ledger: pl.DataFrame, end: date | None = None) -> pl.DataFrame:
    """``product_id, location_id, date, sold``: units customers bought (till sales) or ordered
    online (reservations, cancellations not deducted) per business day."""
    if ledger.is_empty():
        return pl.DataFrame(schema={"product_id": pl.String, "location_id": pl.String,
                                    "date": pl.Date, "sold": pl.Int64})
    led = ledger if end is None else ledger.filter(pl.col("business_day") <= end)
    units = (pl.when(pl.col("kind") == "sale").then(-pl.col("delta_on_hand"))
             .when(pl.col("kind") == "reserve").then(pl.col("delta_reserved"))
             .otherwise(0).fill_null(0))
    return (led.filter(pl.col("kind").is_in(["sale", "reserve"]))
            .group_by(*KEY, pl.col("business_day").alias("date"))
            .agg(units.sum().clip(lower_bound=0).cast(pl.Int64).alias("sold"))
            .filter(pl.col("sold") > 0).sort(*KEY, "date"))


def complete_through(ledger: pl.DataFrame) -> date | None:
    """The last business day every sales feed has reported past: the earliest of the newest
    sale-day of each source that books sales (tills, the shop). Feeds deliver a day's records
    later (till files the next day), so the newest day of one feed is still partial while
    another is complete; None when the ledger has no sales."""
    sales = ledger.filter(pl.col("kind").is_in(["sale", "reserve"]))
    if sales.is_empty():
        return None
    if "source" not in sales.columns:
        return sales["business_day"].max()
    return sales.group_by("source").agg(pl.col("business_day").max())["business_day"].min()


def observed_history(daily: pl.DataFrame, sales: pl.DataFrame, products: pl.DataFrame,
                     promotions: pl.DataFrame, locations: pl.DataFrame,
                     as_of: date | None = None) -> pl.DataFrame:
    """The history's columns before imputation (``demand`` = ``sold``, censored days
    included): the pure function :func:`demand_history` runs on the tables it reads."""
    if daily.is_empty():
        return pl.DataFrame(schema=HISTORY_SCHEMA)
    end = daily["date"].max() if as_of is None else min(as_of, daily["date"].max())
    d = (daily.filter(pl.col("date") <= end)
         .select(*KEY, "date", "on_hand", "available_to_promise").sort(*KEY, "date"))
    d = d.with_columns(pl.col("available_to_promise").shift(1).over(KEY).alias("_open"))
    d = d.with_columns(pl.col("_open").fill_null(pl.col("available_to_promise")))
    d = d.join(sales.filter(pl.col("date") <= end), on=[*KEY, "date"], how="left").with_columns(
        pl.col("sold").fill_null(0).cast(pl.Int64))
    # active from the first day with stock on hand or a sale, not before the launch and not
    # before the first sale recorded anywhere (the day the sales data begins)
    if sales.height:
        begin = sales.filter(pl.col("date") <= end)["date"].min()
        if begin is not None:
            d = d.filter(pl.col("date") >= begin)
    launch = (products.select("product_id", pl.col("launched_on").cast(pl.Date).alias("_launch"))
              if "launched_on" in products.columns and products.height else
              pl.DataFrame(schema={"product_id": pl.String, "_launch": pl.Date}))
    first = (d.filter((pl.col("on_hand") > 0) | (pl.col("sold") > 0))
             .group_by(KEY).agg(pl.col("date").min().alias("_first"))
             .join(launch, on="product_id", how="left")
             .with_columns(pl.max_horizontal("_first", "_launch").alias("_first")))
    d = d.join(first.select(*KEY, "_first"), on=KEY).filter(pl.col("date") >= pl.col("_first"))
    close, opened = pl.col("available_to_promise"), pl.col("_open")
    # the online pool: locations that are not stores sell one shared pool through web and app,
    # so an order the one cannot take goes to another (demand moves, it is not lost)
    pooled = set(locations.filter(pl.col("type") != STORE_TYPE)["location_code"].to_list()) \
        if locations.height and "type" in locations.columns else set()
    in_pool = pl.col("location_id").is_in(list(pooled))
    pool = (d.filter(in_pool).group_by("product_id", "date")
            .agg(pl.col("_open").clip(lower_bound=0).sum().alias("_pool_open"),
                 pl.col("available_to_promise").clip(lower_bound=0).sum().alias("_pool_close")))
    d = d.join(pool, on=["product_id", "date"], how="left")
    own_out = (opened <= 0) | (close <= 0)
    pool_out = (pl.col("_pool_open") <= 0) | (pl.col("_pool_close") <= 0)
    d = d.with_columns(
        ((opened > 0) | (close > 0)).alias("in_stock"),
        pl.when(in_pool).then(own_out & pool_out).otherwise(own_out).alias("censored"),
    )
    start = d["date"].min() if d.height else end
    disc = discount_calendar(d.select(KEY).unique(), start, end, products, promotions,
                             locations)
    price = (products.select("product_id", pl.col("price").cast(pl.Float64))
             if "price" in products.columns and products.height else
             pl.DataFrame(schema={"product_id": pl.String, "price": pl.Float64}))
    d = (d.join(disc, on=[*KEY, "date"], how="left")
         .join(price, on="product_id", how="left")
         .with_columns(pl.col("discount_pct").fill_null(0.0),
                       pl.col("sold").cast(pl.Float64).alias("demand")))
    return d.select(list(HISTORY_SCHEMA)).cast(HISTORY_SCHEMA).sort(*KEY, "date")


INPUTS: dict[str, tuple[str, str, list[str] | None]] = {
    "daily": ("gold", "inventory_daily", None),
    "ledger": ("silver", "inventory_ledger", ["product_id", "location_id", "business_day",
                                              "source", "kind", "delta_on_hand",
                                              "delta_reserved"]),
    "products": ("silver", "products", None),
    "promotions": ("silver", "promotions", None),
    "locations": ("silver", "locations", None),
}


def read_inputs(home: Home | str | Path, names: Iterable[str] = tuple(INPUTS)
                ) -> dict[str, pl.DataFrame]:
    """The validated tables the history is built from (a missing table reads as empty; one
    with no validated version raises ``NotValidatedError``)."""
    root = _root(home)
    return {n: _read(root, *INPUTS[n]) for n in names}


def demand_history(home: Home | str | Path, as_of: date | None = None) -> pl.DataFrame:
    """One row per product x location x active day up to ``as_of`` (default: the last business
    day every sales feed has reported past, ``complete_through``), read from validated tables
    only: ``sold``,
    ``in_stock``, ``censored``, ``demand`` (sold, or the estimate on a censored day),
    ``discount_pct`` (0 without a promotion), ``price`` (catalog list price)."""
    from lakehouse.forecast.profile import impute

    t = read_inputs(home)
    if as_of is None and t["ledger"].height:
        as_of = complete_through(t["ledger"])
    hist = observed_history(t["daily"], daily_sales(t["ledger"], as_of), t["products"],
                            t["promotions"], t["locations"], as_of)
    return impute(hist)


def future_discounts(home: Home | str | Path, keys: pl.DataFrame | Iterable[tuple[str, str]],
                     start: date, end: date) -> pl.DataFrame:
    """``product_id, location_id, date, discount_pct`` of the promotions planned for
    ``[start, end]`` (the promotion calendar is known ahead): pass it to ``forecast`` as
    ``future``."""
    if not isinstance(keys, pl.DataFrame):
        keys = pl.DataFrame(list(keys), schema=KEY, orient="row")
    t = read_inputs(home, ("products", "promotions", "locations"))
    return discount_calendar(keys, start, end, t["products"], t["promotions"], t["locations"])
