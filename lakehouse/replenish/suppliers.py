"""What each supplier really does, learnt from purchase-order history: lead time and fill rate.

A supplier's stated ``lead_time_days`` is a promise; deliveries say how long orders really took
and what share of the ordered units came. Few deliveries say little, so the stated lead time is
blended in as ``Costs.lead_prior_weight`` pseudo-orders (with a spread of a quarter of it), and
the fill rate is blended towards a full delivery the same way. Orders still open are not
counted: they are censored (their lead time is at least their age), a known optimistic bias.
"""

from __future__ import annotations

import polars as pl

PRIOR_LEAD_CV = 0.25  # spread of an unproven supplier's lead time, relative to its promise


def delivered_orders(purchase_orders: pl.DataFrame) -> pl.DataFrame:
    """Delivered purchase orders with their observed lead time (days) and fill ratio."""
    return (purchase_orders
            .filter(pl.col("delivered_at").is_not_null() & (pl.col("ordered_qty") > 0))
            .select(pl.col("supplier_id", "product_id", "location_id").cast(pl.String),
                    (pl.col("delivered_at").dt.date() - pl.col("ordered_at").dt.date())
                    .dt.total_days().clip(lower_bound=0).alias("lead_days"),
                    (pl.col("delivered_qty").fill_null(0) / pl.col("ordered_qty"))
                    .clip(0.0, 1.0).alias("fill")))


def supplier_performance(purchase_orders: pl.DataFrame, suppliers: pl.DataFrame,
                         prior_weight: float = 3.0) -> pl.DataFrame:
    """supplier_id, lead_mean, lead_var (days, days^2), fill_rate, on_time_share, deliveries.

    Every supplier of ``suppliers`` gets a row, and so does any supplier seen only in orders
    (its stated lead time unknown: the observed one stands alone)."""
    obs = delivered_orders(purchase_orders).group_by("supplier_id").agg(
        pl.len().cast(pl.Float64).alias("n"),
        pl.col("lead_days").mean().alias("obs_mean"),
        pl.col("lead_days").var(ddof=0).alias("obs_var"),
        pl.col("fill").mean().alias("obs_fill"))
    on_time = (purchase_orders.filter(pl.col("delivered_at").is_not_null())
               .group_by("supplier_id")
               .agg((pl.col("delay_days").fill_null(0) <= 0).mean().alias("on_time_share")))
    stated = suppliers.select("supplier_id",
                              pl.col("lead_time_days").cast(pl.Float64).alias("stated"))
    w = pl.lit(float(prior_weight))
    n = pl.col("n").fill_null(0.0)
    prior_w = pl.when(pl.col("stated").is_null()).then(0.0).otherwise(w)
    total = (n + prior_w).clip(lower_bound=1e-9)
    return (stated.join(obs, on="supplier_id", how="full", coalesce=True)
            .join(on_time, on="supplier_id", how="left")
            .select(
                "supplier_id",
                ((n * pl.col("obs_mean").fill_null(0.0)
                  + prior_w * pl.col("stated").fill_null(0.0)) / total).alias("lead_mean"),
                ((n * pl.col("obs_var").fill_null(0.0)
                  + prior_w * (PRIOR_LEAD_CV * pl.col("stated").fill_null(0.0)) ** 2) / total)
                .alias("lead_var"),
                ((n * pl.col("obs_fill").fill_null(1.0) + prior_w) / total)
                .clip(0.05, 1.0).alias("fill_rate"),
                pl.col("on_time_share"),
                n.cast(pl.Int64).alias("deliveries"))
            .sort("supplier_id"))
