"""Replay the simulator's true demand against a policy: lost units and what the policy cost.

Evaluation code: it reads the simulator's truth (``truth/demand_daily``: what customers
wanted at each location each day, ``truth/stock_daily``: the true stock to start from), never
product code. Each day of the window, in order:

1. what was due arrives (purchase orders and transfers);
2. the day's true demand is served from the shelf; the rest is lost;
3. the policy sees the positions at the close (on hand, inbound, next arrival) and plans;
   only actions dated today are carried out;
4. transfers leave their warehouse, bounded by its stock and by its parcels a day
   (``ship_capacity_per_day`` x ``Costs.units_per_parcel``), and arrive after the lane's days;
   purchase orders arrive after a lead time, with a fill ratio, drawn from the supplier's own
   delivered orders (its stated lead time when it has none). Draws are keyed by product,
   location and day, so two policies placing the same order get the same delivery;
5. holding is charged on the units on hand at the close.

Days of a warm-up are played but not scored (see :func:`evaluate`).

Costs are those of :class:`~lakehouse.replenish.costs.Costs`: holding, fixed order cost per
purchase-order line, parcels at the lane's rate per transfer. ``total_cost`` is their sum;
the value of the lost sales (at the lost-sale penalty) is reported beside it, not in it.
"""

from __future__ import annotations

import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import polars as pl

from lakehouse.replenish.costs import Costs
from lakehouse.replenish.demand import KEY
from lakehouse.replenish.network import lanes, location_table
from lakehouse.replenish.suppliers import delivered_orders

Policy = Callable[..., pl.DataFrame]


def start_from_truth(truth_stock: pl.DataFrame, purchase_orders: pl.DataFrame,
                     start: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The state before ``start``: free units (on hand - reserved) at the previous close, and
    the purchase orders placed before ``start`` still to arrive (when they truly did, or at
    their promised date when still open). Transfers in flight are not known: left out."""
    eve = start - timedelta(days=1)
    state = truth_stock.filter(pl.col("date") == eve).select(
        *KEY, (pl.col("on_hand") - pl.col("reserved")).clip(lower_bound=0).alias("on_hand"))
    po = purchase_orders.filter(pl.col("ordered_at").dt.date() < start)
    arrival = pl.coalesce(pl.col("delivered_at").dt.date(), pl.col("promised_date"))
    qty = pl.when(pl.col("delivered_at").is_null()).then(pl.col("ordered_qty")) \
        .otherwise(pl.col("delivered_qty"))
    pipeline = (po.select(*KEY, pl.max_horizontal(arrival, pl.lit(start)).alias("arrival"),
                          qty.alias("quantity"), arrival.alias("_due"))
                .filter(pl.col("_due") >= start).drop("_due"))
    return state, pipeline


class _Deliveries:
    """A supplier's delivered orders as (lead days, fill) to draw from."""

    def __init__(self, purchase_orders: pl.DataFrame, suppliers: pl.DataFrame, seed: int):
        self.seed = seed
        self.history = {s: (g["lead_days"].to_numpy(), g["fill"].to_numpy())
                        for (s,), g in delivered_orders(purchase_orders).group_by("supplier_id")}
        self.stated = dict(zip(suppliers["supplier_id"], suppliers["lead_time_days"],
                               strict=True))

    def draw(self, supplier: str, product: str, location: str, day: date) -> tuple[int, float]:
        key = zlib.crc32(f"{self.seed}|{product}|{location}|{day}".encode())
        rng = np.random.default_rng(key)
        lead, fill = self.history.get(supplier, (None, None))
        if lead is None or len(lead) == 0:
            return int(self.stated.get(supplier) or 1), 1.0
        i = int(rng.integers(len(lead)))
        return max(1, int(lead[i])), float(fill[i])


def evaluate(policy_fn: Policy, truth_demand: pl.DataFrame, start_state: pl.DataFrame, *,
             forecast: pl.DataFrame, products: pl.DataFrame, suppliers: pl.DataFrame,
             purchase_orders: pl.DataFrame, locations: pl.DataFrame,
             shipping_rates: pl.DataFrame, start: date, days: int,
             pipeline: pl.DataFrame | None = None, costs: Costs | None = None,
             seed: int = 0, warmup_days: int = 0) -> dict:
    """Run ``policy_fn`` (signature of ``recommend_replenishment``) over ``days`` days from
    ``start`` against ``truth_demand`` (product_id, location_id, date, demanded); see the
    module docstring. The first ``warmup_days`` days are played but not scored: a policy
    whose levels differ from those the start state was built by pays once to move to them,
    and a short window would count that move, not the policy. Returns lost units, costs and
    volumes over the scored days."""
    t0 = time.perf_counter()
    costs = costs or Costs()
    end = start + timedelta(days=days)
    dem = truth_demand.filter((pl.col("date") >= start) & (pl.col("date") < end))
    loc_ids = location_table(locations)["location_id"].to_list()
    keys = (pl.concat([start_state.select(KEY), dem.select(KEY)]).unique()
            .filter(pl.col("location_id").is_in(loc_ids)).sort(KEY)
            .with_row_index("idx"))
    index = {(p, loc): i for i, p, loc in keys.iter_rows()}
    n = keys.height
    on_hand = np.zeros(n, dtype=np.int64)
    s = start_state.join(keys, on=KEY, how="inner")
    on_hand[s["idx"].to_numpy()] = s["on_hand"].to_numpy()
    prod = keys.join(products.select("product_id", "cost", "price"), on="product_id",
                     how="left")
    unit_cost = prod["cost"].fill_null(0.0).to_numpy()
    margin = (prod["price"] - prod["cost"]).fill_null(0.0).clip(lower_bound=0.0).to_numpy()
    penalty = margin if costs.lost_sale_penalty is None else np.full(n, costs.lost_sale_penalty)
    demand = np.zeros((days, n), dtype=np.int64)
    d = dem.join(keys, on=KEY, how="inner")
    np.add.at(demand, ((d["date"] - start).dt.total_days().to_numpy(), d["idx"].to_numpy()),
              d["demanded"].to_numpy())
    pending: dict[int, list[tuple[int, int]]] = defaultdict(list)  # day offset -> (idx, qty)
    for r in (pipeline.join(keys, on=KEY, how="inner").iter_rows(named=True)
              if pipeline is not None else []):
        pending[max(0, (r["arrival"] - start).days)].append((r["idx"], int(r["quantity"])))
    lane = {(r["origin_id"], r["location_id"]): r
            for r in lanes(locations, shipping_rates).iter_rows(named=True)}
    cap = {r["location_id"]: r["capacity"] * max(1, costs.units_per_parcel)
           for r in location_table(locations).filter("is_warehouse").iter_rows(named=True)}
    sup = dict(zip(products["product_id"], products["supplier_id"], strict=True))
    deliveries = _Deliveries(purchase_orders, suppliers, seed)
    h_day = unit_cost * costs.holding_rate_per_year / 365.0
    out = defaultdict(float)
    lost_at = np.zeros(n, dtype=np.int64)
    for t in range(days):
        today = start + timedelta(days=t)
        for i, q in pending.pop(t, []):
            on_hand[i] += q
        sold = np.minimum(demand[t], on_hand)
        on_hand -= sold
        if t == warmup_days:
            out.clear()
            lost_at[:] = 0
        lost = demand[t] - sold
        out["lost_units"] += lost.sum()
        lost_at += lost
        out["lost_sales_value"] += float(lost @ penalty)
        positions = _positions(keys, on_hand, pending, start, t)
        acts = policy_fn(forecast, positions, products, suppliers, purchase_orders, locations,
                         shipping_rates, today, costs)
        shipped: dict[str, int] = defaultdict(int)
        for a in acts.filter(pl.col("order_date") == today).iter_rows(named=True):
            dest = index.get((a["product_id"], a["location_id"]))
            if dest is None or a["quantity"] <= 0:
                continue
            if a["action"] == "transfer":
                origin = index.get((a["product_id"], a["source_id"]))
                route = lane.get((a["source_id"], a["location_id"]))
                if origin is None or route is None:
                    continue
                qty = int(min(a["quantity"], on_hand[origin],
                              cap.get(a["source_id"], 0) - shipped[a["source_id"]]))
                if qty <= 0:
                    continue
                shipped[a["source_id"]] += qty
                on_hand[origin] -= qty
                pending[t + max(1, int(route["ship_days"]))].append((dest, qty))
                parcels = -(-qty // max(1, costs.units_per_parcel))
                out["shipping_cost"] += parcels * float(route["ship_cost"])
                out["transfers"] += 1
                out["units_transferred"] += qty
            else:
                supplier = a["source_id"] or sup.get(a["product_id"])
                lead, fill = deliveries.draw(supplier, a["product_id"], a["location_id"], today)
                got = round(a["quantity"] * fill)
                pending[t + lead].append((dest, got))
                out["order_cost"] += costs.order_cost
                out["shipping_cost"] += a["quantity"] * costs.inbound_freight_per_unit
                out["orders"] += 1
                out["units_ordered"] += a["quantity"]
        out["holding_cost"] += float(on_hand @ h_day)
    demanded = int(demand[warmup_days:].sum())
    total = out["holding_cost"] + out["order_cost"] + out["shipping_cost"]
    return {"days": days - warmup_days, "warmup_days": warmup_days, "keys": n,
            "demanded_units": demanded,
            "lost_units": int(out["lost_units"]),
            "fill_rate": 1.0 - out["lost_units"] / demanded if demanded else 1.0,
            "holding_cost": round(out["holding_cost"], 2),
            "order_cost": round(out["order_cost"], 2),
            "shipping_cost": round(out["shipping_cost"], 2), "total_cost": round(total, 2),
            "lost_sales_value": round(out["lost_sales_value"], 2),
            "total_with_lost_sales": round(total + out["lost_sales_value"], 2),
            "orders": int(out["orders"]), "units_ordered": int(out["units_ordered"]),
            "transfers": int(out["transfers"]),
            "units_transferred": int(out["units_transferred"]),
            "end_stock_value": round(float(on_hand @ unit_cost), 2),
            "lost_by_location": dict(keys.select("location_id").with_columns(
                pl.Series("lost", lost_at)).group_by("location_id").agg(pl.col("lost").sum())
                .sort("location_id").iter_rows()),
            "seconds": round(time.perf_counter() - t0, 2)}


def _positions(keys: pl.DataFrame, on_hand: np.ndarray,
               pending: dict[int, list[tuple[int, int]]], start: date, t: int) -> pl.DataFrame:
    """Positions as the policy would read them from gold/inventory_positions."""
    inbound = np.zeros(len(on_hand), dtype=np.int64)
    nxt = np.full(len(on_hand), np.iinfo(np.int64).max)
    for day, items in pending.items():
        if items:
            idx = np.array([i for i, _ in items])
            np.add.at(inbound, idx, np.array([q for _, q in items]))
            np.minimum.at(nxt, idx, day)
    expected = pl.Series(np.where(inbound > 0, nxt, 0)).cast(pl.Int64)
    return keys.select(KEY).with_columns(
        pl.Series("on_hand", on_hand), pl.lit(0, pl.Int64).alias("reserved"),
        pl.Series("available_to_promise", on_hand), pl.Series("inbound", inbound),
        pl.when(pl.Series(inbound > 0))
        .then(pl.lit(start) + pl.duration(days=expected)).otherwise(None)
        .cast(pl.Date).alias("next_expected_date"),
        pl.lit(0, pl.Int64).alias("in_transit_out"))
