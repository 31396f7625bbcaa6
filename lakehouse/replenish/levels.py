"""Reorder points and order-up-to levels per product x location: cost-aware and classical.

Both start from one *planning frame* (:func:`planning_frame`): demand per key, the key's
position, its unit economics, where it is replenished from and in how long. Then:

- :func:`cost_aware_levels`, an (s, S) policy reviewed daily. The batch ``Q`` is the economic
  order quantity (fixed cost of an order line at a warehouse, of a parcel on the lane for a
  transfer, against the holding cost), capped at ``max_cover_days`` of demand. The reorder
  point ``s`` is the critical-ratio quantile of demand over lead time plus one review period,
  the lead time being the supplier's *observed* one with its variability; the critical ratio
  weighs a lost sale (``p``) against holding a unit through one cycle (``h Q / d``):
  ``p / (p + h Q / d)``. ``S = s + Q``. A transfer pays its lane's rate per parcel, so its
  batch never exceeds one parcel: a bigger one would pay as many more parcels. Units on order
  count at the supplier's fill rate, and orders are grossed up by it.
- :func:`classical_levels`, the reorder-point baseline: ``s`` = mean demand over the stated
  lead time plus ``safety_days`` of demand, ``S = s + cover_days`` of demand; no fill rate.

A warehouse plans for the demand it serves: its own plus that of the locations it is the
serving warehouse of (:mod:`lakehouse.replenish.network`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from lakehouse.replenish.costs import Costs
from lakehouse.replenish.demand import KEY, daily_demand, expected_shortfall, lead_time_moments
from lakehouse.replenish.demand import quantile as demand_quantile
from lakehouse.replenish.network import location_table, serving_warehouse


def position_frame(positions: pl.DataFrame) -> pl.DataFrame:
    """product_id, location_id, atp, inbound, next_expected_date from inventory positions."""
    return positions.select(
        *KEY,
        pl.col("available_to_promise").fill_null(0).clip(lower_bound=0).alias("atp"),
        pl.col("inbound").fill_null(0).clip(lower_bound=0).alias("inbound"),
        pl.col("next_expected_date") if "next_expected_date" in positions.columns
        else pl.lit(None, pl.Date).alias("next_expected_date"))


def planning_frame(forecast: pl.DataFrame, positions: pl.DataFrame, products: pl.DataFrame,
                   locations: pl.DataFrame, shipping_rates: pl.DataFrame, as_of: date,
                   costs: Costs) -> pl.DataFrame:
    """One row per product x location known to the positions or the forecast (at a known
    location, of a known product): demand (own and served), position, economics, lane."""
    dem = daily_demand(forecast, as_of, costs.horizon_days)
    pos = position_frame(positions)
    keys = pl.concat([pos.select(KEY), dem.select(KEY)]).unique()
    loc = location_table(locations)
    serve = serving_warehouse(locations, shipping_rates)
    margin = (pl.col("price") - pl.col("cost")).clip(lower_bound=0.0)
    penalty = margin if costs.lost_sale_penalty is None else pl.lit(costs.lost_sale_penalty)
    prod = products.select("product_id", "supplier_id",
                           pl.col("cost").cast(pl.Float64).alias("unit_cost"),
                           pl.col("price").cast(pl.Float64).alias("price"),
                           penalty.cast(pl.Float64).alias("penalty"))
    f = (keys.join(loc.select("location_id", "is_warehouse"), on="location_id", how="inner")
         .join(prod, on="product_id", how="inner")
         .join(dem, on=KEY, how="left").join(pos, on=KEY, how="left")
         .join(serve, on="location_id", how="left")
         .with_columns(pl.col("rate", "rate_var").fill_null(0.0),
                       pl.col("atp", "inbound").fill_null(0)))
    served = (f.filter(pl.col("origin_id").is_not_null())
              .group_by("product_id", pl.col("origin_id").alias("location_id"))
              .agg(pl.col("rate").sum().alias("served_rate"),
                   pl.col("rate_var").sum().alias("served_var")))
    return (f.join(served, on=KEY, how="left")
            .with_columns((pl.col("rate") + pl.col("served_rate").fill_null(0.0))
                          .alias("plan_rate"),
                          (pl.col("rate_var") + pl.col("served_var").fill_null(0.0))
                          .alias("plan_var"))
            .drop("served_rate", "served_var").sort(KEY))


def _lead(frame: pl.DataFrame, perf: pl.DataFrame, costs: Costs) -> pl.DataFrame:
    """lead_mean, lead_var, fill_rate, fixed_cost per key: supplier for a warehouse, lane for
    any other location."""
    cv = costs.transfer_lead_cv
    return (frame.join(perf.select("supplier_id", "lead_mean", "lead_var", "fill_rate"),
                       on="supplier_id", how="left")
            .with_columns(
                pl.when("is_warehouse").then(pl.col("lead_mean"))
                .otherwise(pl.col("ship_days").cast(pl.Float64)).fill_null(0.0)
                .alias("lead_mean"),
                pl.when("is_warehouse").then(pl.col("lead_var"))
                .otherwise((cv * pl.col("ship_days")) ** 2).fill_null(0.0).alias("lead_var"),
                pl.when("is_warehouse").then(pl.col("fill_rate")).otherwise(1.0)
                .fill_null(1.0).alias("fill_rate"),
                pl.when("is_warehouse").then(pl.lit(costs.order_cost))
                .otherwise(pl.col("ship_cost")).fill_null(costs.order_cost)
                .alias("fixed_cost")))


def _finish(f: pl.DataFrame, rop: np.ndarray, q: np.ndarray, service: np.ndarray,
            costs: Costs) -> pl.DataFrame:
    """Adds reorder_point, order_up_to, service, position and expected lost units (no action,
    over the horizon, at the location's own demand)."""
    h = float(costs.horizon_days)
    f = f.with_columns(pl.Series("reorder_point", rop, pl.Float64),
                       pl.Series("batch", q, pl.Float64),
                       pl.Series("service", service, pl.Float64),
                       (pl.col("atp") + pl.col("fill_rate") * pl.col("inbound"))
                       .cast(pl.Float64).alias("position"))
    lost = expected_shortfall(f["position"].to_numpy(), f["rate"].to_numpy() * h,
                              f["rate_var"].to_numpy() * h)
    return f.with_columns((pl.col("reorder_point") + pl.col("batch")).alias("order_up_to"),
                          pl.Series("expected_lost_units", lost, pl.Float64))


def cost_aware_levels(frame: pl.DataFrame, perf: pl.DataFrame, costs: Costs) -> pl.DataFrame:
    """The planning frame with the cost-aware (s, S) levels (see the module docstring)."""
    f = _lead(frame, perf, costs)
    d = f["plan_rate"].to_numpy()
    h_day = f["unit_cost"].to_numpy() * costs.holding_rate_per_year / 365.0
    k = f["fixed_cost"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        eoq = np.sqrt(2.0 * k * d / np.maximum(h_day, 1e-9))
    # a transfer pays per parcel: beyond a full parcel a bigger batch saves nothing
    cap = np.where(f["is_warehouse"].to_numpy(), np.inf, float(costs.units_per_parcel))
    cap = np.minimum(cap, np.maximum(1.0, costs.max_cover_days * d))
    q = np.where(d > 0, np.clip(eoq, 1.0, cap), 0.0)
    cycle = np.where(d > 0, q / np.maximum(d, 1e-12), costs.max_cover_days)
    p = f["penalty"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        cr = np.nan_to_num(p / (p + h_day * cycle), nan=costs.min_service)
    service = np.clip(cr, costs.min_service, costs.max_service)
    protect = f["lead_mean"].to_numpy() + costs.review_days
    mu, var = lead_time_moments(d, f["plan_var"].to_numpy(), protect, f["lead_var"].to_numpy())
    rop = demand_quantile(service, mu, var)
    return _finish(f, rop, q, service, costs)


def classical_levels(frame: pl.DataFrame, suppliers: pl.DataFrame, costs: Costs,
                     safety_days: float, cover_days: float) -> pl.DataFrame:
    """The planning frame with reorder-point baseline levels: stated lead times, fixed days."""
    stated = suppliers.select("supplier_id",
                              pl.col("lead_time_days").cast(pl.Float64).alias("lead_mean"),
                              pl.lit(0.0).alias("lead_var"), pl.lit(1.0).alias("fill_rate"))
    f = _lead(frame, stated, costs).with_columns(pl.lit(1.0).alias("fill_rate"))
    d = f["plan_rate"].to_numpy()
    rop = d * (f["lead_mean"].to_numpy() + safety_days)
    q = d * cover_days
    return _finish(f, rop, q, np.full(f.height, np.nan), costs)
