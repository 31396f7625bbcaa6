"""From levels to actions: purchase orders at warehouses, transfers to everything else.

Transfers come first, because they move stock out of warehouses today and a warehouse orders
on what it will have left. A location below its reorder point asks for ``S - position``; its
serving warehouse gives what it has free beyond its own customers' mean demand until a
supplier order placed today could arrive; the other warehouses give only what they hold above
their own reorder point (true excess), and only when the lost sales it saves (expected lost
units over the horizon, at the penalty) are worth more than its parcels. A warehouse that will
run dry before its supplier can deliver (mean lead-time demand above what it holds and what
arrives in time) is topped up from another warehouse's excess on the same condition.

Most urgent first (expected lost units x lost-sale penalty), each warehouse ships at most its
``ship_capacity_per_day`` parcels of ``units_per_parcel`` units a day: what does not fit today
is planned for the next days of ``plan_days``, and dropped beyond them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

import polars as pl

from lakehouse.replenish.costs import Costs
from lakehouse.replenish.demand import KEY

ACTION_SCHEMA: dict[str, pl.DataType] = {
    "product_id": pl.String(), "location_id": pl.String(), "action": pl.String(),
    "source_id": pl.String(), "quantity": pl.Int64(), "order_date": pl.Date(),
    "expected_arrival": pl.Date(), "reorder_point": pl.Float64(), "order_up_to": pl.Float64(),
    "expected_lost_units": pl.Float64(), "unit_cost": pl.Float64(), "order_cost": pl.Float64(),
    "shipping_cost": pl.Float64(), "holding_cost": pl.Float64(), "reason": pl.String(),
}


def _holding(qty: float, rate: float, unit_cost: float, costs: Costs) -> float:
    """Expected holding cost of a batch sold at ``rate``: half of it on hand on average over
    the days it lasts (at most ``max_cover_days`` when demand is slow)."""
    days = min(qty / rate, costs.max_cover_days) if rate > 0 else costs.max_cover_days
    return qty * unit_cost * costs.holding_rate_per_year / 365.0 * days / 2.0


def _row(r: dict, action: str, source: str, qty: int, day: date, arrival: date,
         order_cost: float, shipping: float, costs: Costs, reason: str) -> dict:
    return {"product_id": r["product_id"], "location_id": r["location_id"], "action": action,
            "source_id": source, "quantity": int(qty), "order_date": day,
            "expected_arrival": arrival, "reorder_point": r["reorder_point"],
            "order_up_to": r["order_up_to"], "expected_lost_units": r["expected_lost_units"],
            "unit_cost": r["unit_cost"], "order_cost": order_cost, "shipping_cost": shipping,
            "holding_cost": _holding(qty, r["plan_rate"], r["unit_cost"], costs),
            "reason": reason}


class _Ship:
    """Free units per (product, warehouse) and parcels left per (warehouse, day)."""

    def __init__(self, levels: pl.DataFrame, capacity: dict[str, int] | None, costs: Costs):
        wh = levels.filter("is_warehouse")
        self.free = {(r["product_id"], r["location_id"]): int(r["atp"])
                     for r in wh.select(*KEY, "atp").iter_rows(named=True)}
        self.keep = {(r["product_id"], r["location_id"]): float(r["reorder_point"])
                     for r in wh.select(*KEY, "reorder_point").iter_rows(named=True)}
        # a serving warehouse keeps for its own customers what they buy before a supplier
        # order placed today could land; the rest of its stock is there for those it serves
        self.own = {(r["product_id"], r["location_id"]): r["rate"] * (r["lead_mean"]
                                                                      + costs.review_days)
                    for r in wh.select(*KEY, "rate", "lead_mean").iter_rows(named=True)}
        self.capacity = capacity
        self.units = max(1, costs.units_per_parcel)
        self.used: dict[tuple[str, int], int] = defaultdict(int)
        self.out: dict[tuple[str, str], int] = defaultdict(int)

    def excess(self, product: str, origin: str, serving: bool) -> int:
        free = self.free.get((product, origin), 0)
        keep = (self.own if serving else self.keep).get((product, origin), 0.0)
        return max(0, math.floor(free - keep))

    def book(self, product: str, origin: str, qty: int, days: int) -> list[tuple[int, int]]:
        """Split ``qty`` over the first days with capacity left: [(day offset, units)]."""
        out = []
        for day in range(days if self.capacity is not None else 1):
            left = (qty if self.capacity is None
                    else self.capacity.get(origin, 0) * self.units - self.used[(origin, day)])
            take = min(qty, max(0, left))
            if take > 0:
                out.append((day, take))
                self.used[(origin, day)] += take
                qty -= take
            if qty == 0:
                break
        moved = sum(u for _, u in out)
        self.free[(product, origin)] = self.free.get((product, origin), 0) - moved
        self.out[(product, origin)] += moved
        return out


def _transfer(r: dict, want: int, origins: list[dict], ship: _Ship, as_of: date,
              costs: Costs, why: str) -> list[dict]:
    rows = []
    for lane in origins:
        if want <= 0:
            break
        give = min(want, ship.excess(r["product_id"], lane["origin_id"], lane["serving"]))
        saved = min(give, r["expected_lost_units"]) * r["penalty"]
        if give <= 0 or (not lane["serving"]
                         and saved <= math.ceil(give / ship.units) * lane["ship_cost"]):
            continue
        for day, qty in ship.book(r["product_id"], lane["origin_id"], give, costs.plan_days):
            start = as_of + timedelta(days=day)
            parcels = math.ceil(qty / ship.units)
            rows.append(_row(r, "transfer", lane["origin_id"], qty, start,
                             start + timedelta(days=int(lane["ship_days"])), 0.0,
                             parcels * float(lane["ship_cost"]), costs,
                             f"{why}; {qty} units from {lane['origin_id']} "
                             f"({parcels} parcel(s), {lane['ship_days']} d)"))
            want -= qty
    return rows


def plan_actions(levels: pl.DataFrame, lanes: pl.DataFrame, capacity: dict[str, int] | None,
                 as_of: date, costs: Costs, *, cross_ship: bool = True,
                 preview: bool = True) -> pl.DataFrame:
    """Actions (``ACTION_SCHEMA``) for levels from :mod:`lakehouse.replenish.levels`.

    ``capacity`` maps a warehouse to its parcels a day (None: unlimited, as the baseline
    plans); ``cross_ship`` lets non-serving warehouses give excess and tops up warehouses;
    ``preview`` lists orders that will fall due within ``plan_days``."""
    ship = _Ship(levels, capacity, costs)
    by_dest: dict[str, list[dict]] = defaultdict(list)
    for lane in lanes.iter_rows(named=True):
        by_dest[lane["location_id"]].append(lane)
    lv = levels.with_columns((pl.col("expected_lost_units") * pl.col("penalty"))
                             .alias("urgency")).sort("urgency", *KEY, descending=[True, False,
                                                                                   False])
    rows: list[dict] = []
    for r in lv.filter(~pl.col("is_warehouse") & (pl.col("plan_rate") > 0)
                       & (pl.col("position") < pl.col("reorder_point"))).iter_rows(named=True):
        origins = [dict(lane, serving=lane["origin_id"] == r["origin_id"])
                   for lane in by_dest[r["location_id"]]
                   if cross_ship or lane["origin_id"] == r["origin_id"]]
        origins.sort(key=lambda o: (not o["serving"], o["ship_cost"]))
        want = math.ceil(r["order_up_to"] - r["position"])
        rows += _transfer(r, want, origins, ship, as_of, costs,
                          f"position {r['position']:.0f} below reorder point "
                          f"{r['reorder_point']:.1f}")
    warehouses = lv.filter(pl.col("is_warehouse") & (pl.col("plan_rate") > 0))
    if cross_ship:
        for r in warehouses.iter_rows(named=True):
            due = as_of + timedelta(days=math.ceil(r["lead_mean"]))
            arriving = r["inbound"] * r["fill_rate"] if (
                r["next_expected_date"] is not None and r["next_expected_date"] <= due) else 0
            have = r["atp"] - ship.out[(r["product_id"], r["location_id"])] + arriving
            short = math.ceil(r["plan_rate"] * r["lead_mean"] - have)
            origins = sorted((dict(lane, serving=False) for lane in by_dest[r["location_id"]]),
                             key=lambda o: o["ship_cost"])
            if short <= 0 or not origins or short * r["penalty"] <= (
                    math.ceil(short / ship.units) * origins[0]["ship_cost"]):
                continue
            rows += _transfer(r, short, origins, ship, as_of, costs,
                              f"runs out before supplier {r['supplier_id']} can deliver "
                              f"({r['lead_mean']:.1f} d): short {short}")
    rows += _orders(warehouses, ship, as_of, costs, preview)
    return pl.DataFrame(rows, schema=ACTION_SCHEMA).sort("order_date", *KEY, "action")


def _orders(warehouses: pl.DataFrame, ship: _Ship, as_of: date, costs: Costs,
            preview: bool) -> list[dict]:
    rows = []
    for r in warehouses.iter_rows(named=True):
        moved = ship.out[(r["product_id"], r["location_id"])]
        pos = r["position"] - moved
        rate, rop = r["plan_rate"], r["reorder_point"]
        wait = 0 if pos < rop else math.floor((pos - rop) / rate) + 1
        if wait > 0 and (not preview or wait >= costs.plan_days):
            continue
        at = pos - rate * wait
        qty = math.ceil((r["order_up_to"] - at) / max(r["fill_rate"], 1e-9))
        if qty <= 0 or r["supplier_id"] is None:
            continue
        day = as_of + timedelta(days=wait)
        lead = max(0, round(r["lead_mean"]))
        rows.append(_row(r, "order", r["supplier_id"], qty, day, day + timedelta(days=lead),
                         costs.order_cost, qty * costs.inbound_freight_per_unit, costs,
                         f"position {at:.1f} {'below' if wait == 0 else 'reaches'} reorder "
                         f"point {rop:.1f}{'' if wait == 0 else f' in {wait} d'}; "
                         f"lead {r['lead_mean']:.1f}±{math.sqrt(r['lead_var']):.1f} d, "
                         f"fill {r['fill_rate']:.0%}{_service(r['service'])}"))
    return rows


def _service(service: float | None) -> str:
    return "" if service is None or math.isnan(service) else f", service {service:.0%}"
