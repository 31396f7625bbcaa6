"""A stand-in demand forecast for replenishment tests and the bench, used while (or where)
``lakehouse.forecast`` is not importable: the trailing mean of units sold per day on the days
the location had free stock (sales on a stock-out day say nothing about demand), with Poisson
intervals. Read from validated tables only, up to ``as_of``: no look-ahead."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from scipy.stats import poisson

from lakehouse.home import Home
from lakehouse.storage.paths import table_uri
from lakehouse.storage.validations import read_validated

MODEL = "standin_trailing_mean_poisson"


def standin_forecast(home: Home, as_of: date, horizon: int = 28,
                     window: int = 28) -> pl.DataFrame:
    """product_id, location_id, date, model, mean, lo_80, hi_80, lo_95, hi_95 for the
    ``horizon`` days after ``as_of``."""
    first = as_of - timedelta(days=window)
    in_window = (pl.col("d") > first) & (pl.col("d") <= as_of)
    ledger = read_validated(table_uri(home, "silver", "inventory_ledger"),
                            ["product_id", "location_id", "business_day", "kind",
                             "delta_on_hand", "delta_reserved"])
    sold = (ledger.rename({"business_day": "d"}).filter(in_window)
            .with_columns(pl.when(pl.col("kind") == "sale").then(-pl.col("delta_on_hand"))
                          .when(pl.col("kind") == "reserve").then(pl.col("delta_reserved"))
                          .otherwise(0).alias("units"))
            .group_by("product_id", "location_id", "d").agg(pl.col("units").sum()))
    daily = (read_validated(table_uri(home, "gold", "inventory_daily"))
             .rename({"date": "d"}).filter(in_window)
             .join(sold, on=["product_id", "location_id", "d"], how="full", coalesce=True)
             .with_columns(pl.col("units").fill_null(0)))
    rate = daily.group_by("product_id", "location_id").agg(
        (pl.col("units").sum() / ((pl.col("available_to_promise").fill_null(0) > 0)
                                  | (pl.col("units") > 0)).sum().clip(lower_bound=1))
        .cast(pl.Float64).alias("mean"))
    dates = pl.DataFrame({"date": pl.date_range(as_of + timedelta(days=1),
                                                as_of + timedelta(days=horizon), eager=True)})
    m = rate["mean"].to_numpy().clip(1e-9)
    bounds = {f"{side}_{lvl}": poisson.ppf(q, m)
              for side, lvl, q in (("lo", 80, 0.1), ("hi", 80, 0.9), ("lo", 95, 0.025),
                                   ("hi", 95, 0.975))}
    return (rate.with_columns(*(pl.Series(k, v, pl.Float64) for k, v in bounds.items()))
            .join(dates, how="cross")
            .select("product_id", "location_id", "date", pl.lit(MODEL).alias("model"),
                    "mean", "lo_80", "hi_80", "lo_95", "hi_95"))
