"""The two planners on the same inputs: the cost-aware policy and the reorder-point baseline.

Both take the frames as read from validated tables (positions, catalog, suppliers, purchase
orders, locations, shipping rates) and a demand forecast frame (product_id, location_id, date,
mean and optionally hi_80 / hi_95), and return one row per action (``ACTION_SCHEMA``).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from lakehouse.replenish.actions import plan_actions
from lakehouse.replenish.costs import Costs
from lakehouse.replenish.levels import classical_levels, cost_aware_levels, planning_frame
from lakehouse.replenish.network import lanes, location_table
from lakehouse.replenish.suppliers import supplier_performance

BASELINE_SAFETY_DAYS = 7.0  # textbook baseline: a week of safety stock ...
BASELINE_COVER_DAYS = 14.0  # ... and two weeks of demand per order


def capacities(locations: pl.DataFrame) -> dict[str, int]:
    """Parcels a day each warehouse can ship."""
    loc = location_table(locations).filter("is_warehouse")
    return dict(zip(loc["location_id"], loc["capacity"], strict=True))


def recommend_replenishment(forecast: pl.DataFrame, positions: pl.DataFrame,
                            products: pl.DataFrame, suppliers: pl.DataFrame,
                            purchase_orders: pl.DataFrame, locations: pl.DataFrame,
                            shipping_rates: pl.DataFrame, as_of: date,
                            costs: Costs | None = None) -> pl.DataFrame:
    """What to order or move, when and from where, at least expected cost (see
    :mod:`lakehouse.replenish.levels` for the policy, :mod:`lakehouse.replenish.actions` for
    how levels become orders and capacity-bound transfers)."""
    costs = costs or Costs()
    frame = planning_frame(forecast, positions, products, locations, shipping_rates, as_of,
                           costs)
    perf = supplier_performance(purchase_orders, suppliers, costs.lead_prior_weight)
    levels = cost_aware_levels(frame, perf, costs)
    return plan_actions(levels, lanes(locations, shipping_rates), capacities(locations), as_of,
                        costs)


def reorder_point_baseline(forecast: pl.DataFrame, positions: pl.DataFrame,
                           products: pl.DataFrame, suppliers: pl.DataFrame,
                           purchase_orders: pl.DataFrame, locations: pl.DataFrame,
                           shipping_rates: pl.DataFrame, as_of: date,
                           costs: Costs | None = None, *,
                           safety_days: float = BASELINE_SAFETY_DAYS,
                           cover_days: float = BASELINE_COVER_DAYS) -> pl.DataFrame:
    """The classical baseline, same inputs and output: reorder point = mean demand over the
    supplier's stated lead time + ``safety_days`` of demand, order ``cover_days`` of demand
    above it; stores refilled from their serving warehouse only, no capacity planning, no
    fill rate, no cross-shipping. ``purchase_orders`` is unused: the baseline trusts the
    stated lead times."""
    costs = costs or Costs()
    frame = planning_frame(forecast, positions, products, locations, shipping_rates, as_of,
                           costs)
    levels = classical_levels(frame, suppliers, costs, safety_days, cover_days)
    return plan_actions(levels, lanes(locations, shipping_rates), None, as_of, costs,
                        cross_ship=False, preview=False)
