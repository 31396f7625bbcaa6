"""Daily position snapshots at the close of each business day (the truth's ``stock_daily``
grain), and days of cover from recent sales velocity.

On hand at the close of day D is the event-time fold of the on-hand events booked into days up
to D; reserved is the sum of reservation deltas booked into days up to D (a shopper's order
belongs to the shopper's local day, so a late-evening order on the west coast is still held at
the close of that day although it happened after midnight UTC).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from lakehouse.inventory.fold import KEY, running
from lakehouse.inventory.ledger import canonical

RESERVATION_KINDS = ("reserve", "release")


def daily_positions(ledger: pl.DataFrame, start: date, end: date,
                    keys: pl.DataFrame | None = None) -> pl.DataFrame:
    """``product_id, location_id, date, on_hand, reserved, available_to_promise`` for every
    key (the ledger's, or ``keys``) and every day in ``[start, end]``; a key with no event
    yet is at zero."""
    led = canonical(ledger)
    days = pl.DataFrame({"date": pl.date_range(start, end, "1d", eager=True)})
    if keys is None:
        keys = led.select(KEY).unique()
    grid = keys.select(KEY).unique().join(days, how="cross").sort("date")
    if led.is_empty():
        return grid.with_columns(pl.lit(0).alias("on_hand"), pl.lit(0).alias("reserved"),
                                 pl.lit(0).alias("available_to_promise"))
    run = running(led, presorted=True)
    oh = (run.filter(~pl.col("kind").is_in(RESERVATION_KINDS))
          .group_by(*KEY, "business_day", maintain_order=True)
          .agg(pl.col("on_hand").last())
          .rename({"business_day": "date"}).sort("date"))
    res = (led.group_by(*KEY, "business_day").agg(pl.col("delta_reserved").sum())
           .sort("business_day")
           .with_columns(pl.col("delta_reserved").cum_sum().over(KEY).alias("reserved"))
           .select(*KEY, pl.col("business_day").alias("date"), "reserved"))
    out = (grid.join_asof(oh, on="date", by=KEY, strategy="backward",
                            check_sortedness=False)
           .join_asof(res, on="date", by=KEY, strategy="backward",
                      check_sortedness=False)
           .with_columns(pl.col("on_hand").fill_null(0), pl.col("reserved").fill_null(0)))
    return out.with_columns(
        (pl.col("on_hand") - pl.col("reserved")).clip(lower_bound=0)
        .alias("available_to_promise")).sort(*KEY, "date")


def sales_daily(ledger: pl.DataFrame) -> pl.DataFrame:
    """Units leaving each location for customers per business day: till sales at stores,
    reservations (net of cancellations) at the fulfilling warehouse."""
    led = canonical(ledger)
    units = (pl.when(pl.col("kind") == "sale").then(-pl.col("delta_on_hand"))
             .when(pl.col("kind").is_in(RESERVATION_KINDS)).then(pl.col("delta_reserved"))
             .otherwise(0))
    return (led.group_by(*KEY, pl.col("business_day").alias("date"))
            .agg(units.sum().alias("units")).sort(*KEY, "date"))


def days_of_cover(ledger: pl.DataFrame, as_of: date, window_days: int = 14) -> pl.DataFrame:
    """Days the free stock lasts at the mean daily sales of the last ``window_days`` days.

    ``velocity`` counts sold units, so stock-out days (no sales because nothing was there) pull
    it down: days with zero on hand at close are left out of the mean (censoring)."""
    start = as_of.fromordinal(as_of.toordinal() - window_days + 1)
    daily = daily_positions(ledger, start, as_of)
    sold = sales_daily(ledger).filter(pl.col("date").is_between(start, as_of))
    d = daily.join(sold, on=[*KEY, "date"], how="left").with_columns(
        pl.col("units").fill_null(0))
    in_stock = (pl.col("on_hand") > 0) | (pl.col("units") > 0)
    vel = d.group_by(KEY).agg(
        pl.col("units").filter(in_stock).sum().alias("_u"),
        in_stock.sum().alias("in_stock_days"),
    ).with_columns(
        pl.when(pl.col("in_stock_days") > 0).then(pl.col("_u") / pl.col("in_stock_days"))
        .otherwise(0.0).alias("velocity")).drop("_u")
    last = daily.filter(pl.col("date") == as_of).select(*KEY, "available_to_promise")
    return last.join(vel, on=KEY, how="left").with_columns(
        pl.when(pl.col("velocity") > 0)
        .then(pl.col("available_to_promise") / pl.col("velocity"))
        .otherwise(None).alias("days_of_cover")).sort(KEY)
