"""The cost-aware policy and the reorder-point baseline on a hand-made network: what they order
or move, when, from where, and how costs and supplier behaviour move their levels."""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl
import pytest

from lakehouse.replenish import (
    ACTION_SCHEMA,
    Costs,
    recommend_replenishment,
    reorder_point_baseline,
)
from tests.unit.replenish.frames import (
    AS_OF,
    forecast,
    locations,
    positions,
    products,
    purchase_orders,
    shipping_rates,
    suppliers,
)


def plan(atp, rates, *, fn=recommend_replenishment, leads=(5,) * 20, price=30.0,
         capacity=100, costs=None, inbound=None):
    return fn(forecast(rates), positions(atp, inbound), products(price=price), suppliers(lead=5),
              purchase_orders(list(leads)), locations(capacity), shipping_rates(), AS_OF, costs)


def order(p: pl.DataFrame, loc: str = "W1") -> dict:
    rows = p.filter((pl.col("action") == "order") & (pl.col("location_id") == loc))
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_a_warehouse_below_its_reorder_point_orders_up_to_its_level_today():
    p = plan({"W1": 0, "W2": 100, "S1": 100}, {"W1": 2.0})
    assert p.schema == pl.Schema(ACTION_SCHEMA)
    o = order(p)
    assert o["source_id"] == "SUP1" and o["order_date"] == AS_OF
    assert o["expected_arrival"] == AS_OF + timedelta(days=5)
    assert o["quantity"] == math.ceil(o["order_up_to"])  # position 0, full fill rate
    assert o["reorder_point"] > 2.0 * 6  # above mean demand over lead time + review
    assert o["order_cost"] == Costs().order_cost and o["holding_cost"] > 0
    assert o["expected_lost_units"] > 2.0 * 28 * 0.9  # empty shelf: nearly all 28 days lost
    assert "below reorder point" in o["reason"]


def test_a_costlier_lost_sale_buys_more_safety_stock():
    cheap = order(plan({"W1": 0}, {"W1": 2.0}, price=10.5))
    dear = order(plan({"W1": 0}, {"W1": 2.0}, price=100.0))
    assert dear["reorder_point"] > cheap["reorder_point"]


def test_a_supplier_late_in_practice_gets_a_higher_reorder_point_than_its_promise_implies():
    punctual = order(plan({"W1": 0}, {"W1": 2.0}, leads=(5,) * 30))
    late = order(plan({"W1": 0}, {"W1": 2.0}, leads=(9,) * 30))
    assert late["reorder_point"] > punctual["reorder_point"] + 2.0 * 3
    assert late["expected_arrival"] > punctual["expected_arrival"]
    base = order(plan({"W1": 0}, {"W1": 2.0}, fn=reorder_point_baseline, leads=(9,) * 30))
    assert base["reorder_point"] == pytest.approx(2.0 * (5 + 7))  # trusts the promise


def test_short_deliveries_are_ordered_grossed_up():
    full = order(plan({"W1": 0}, {"W1": 2.0}))
    p = recommend_replenishment(
        forecast({"W1": 2.0}), positions({"W1": 0}), products(), suppliers(lead=5),
        purchase_orders([5] * 40, delivered=[5] * 40), locations(), shipping_rates(), AS_OF)
    half = order(p)
    assert half["quantity"] > 1.6 * full["quantity"]  # fill ~ 54 %: order ~ twice
    assert "fill 53%" in half["reason"]  # (40 x 0.5 + 3) / 43


def test_a_position_above_the_reorder_point_previews_the_order_on_the_day_it_falls_due():
    first = order(plan({"W1": 0}, {"W1": 2.0}))
    atp = math.ceil(first["reorder_point"]) + 4  # crosses below s within 2-3 days
    later = order(plan({"W1": atp}, {"W1": 2.0}))
    assert AS_OF < later["order_date"] < AS_OF + timedelta(days=Costs().plan_days)
    base = plan({"W1": atp}, {"W1": 2.0}, fn=reorder_point_baseline)
    assert base.filter(pl.col("location_id") == "W1").is_empty()  # the baseline waits


def test_store_transfers_come_from_the_serving_warehouse_within_its_daily_capacity():
    costs = Costs(units_per_parcel=2)
    p = plan({"W1": 500, "W2": 500, "S1": 0}, {"S1": 3.0, "W1": 0.1, "W2": 0.1},
             capacity=1, costs=costs)
    t = p.filter(pl.col("action") == "transfer").sort("order_date")
    per_day = t.group_by("source_id", "order_date").agg(pl.col("quantity").sum())
    assert per_day["quantity"].max() <= 2  # one parcel of two units a day per warehouse
    w1 = t.filter(pl.col("source_id") == "W1")  # the cheaper lane, every day of the plan
    assert w1["order_date"].to_list() == [AS_OF + timedelta(days=k)
                                          for k in range(Costs().plan_days)]
    assert (w1["expected_arrival"] - w1["order_date"]).dt.total_days().unique().to_list() == [2]
    assert w1["shipping_cost"].unique().to_list() == [5.0]
    assert t.filter(pl.col("source_id") == "W2")["shipping_cost"].unique().to_list() == [9.0]
    assert t["quantity"].sum() == math.ceil(t["order_up_to"][0])  # up to S, no more


def test_no_cross_shipping_that_costs_more_than_the_sales_it_saves():
    args = ({"W1": 0, "W2": 500, "S1": 0}, {"S1": 1.0, "W1": 0.1, "W2": 0.1})
    dear = plan(*args, price=30.0)
    assert set(dear.filter(pl.col("action") == "transfer")["source_id"]) == {"W2"}
    thin = plan(*args, price=10.2)  # a 0.20 margin: no sale saved pays a 9.00 parcel
    assert thin.filter(pl.col("action") == "transfer").is_empty()


def test_a_warehouse_that_runs_dry_before_its_supplier_delivers_is_topped_up_by_the_other():
    p = plan({"W1": 300, "W2": 0}, {"W1": 0.5, "W2": 3.0}, leads=(10,) * 30)
    t = p.filter((pl.col("action") == "transfer") & (pl.col("location_id") == "W2"))
    assert t["source_id"].to_list() == ["W1"] and t["quantity"][0] >= 3.0 * 9.5
    assert "before supplier SUP1 can deliver" in t["reason"][0]
    assert order(p, "W2")["order_date"] == AS_OF  # the supplier order still goes out
    base = plan({"W1": 300, "W2": 0}, {"W1": 0.5, "W2": 3.0}, fn=reorder_point_baseline)
    assert base.filter(pl.col("action") == "transfer").is_empty()


def test_nothing_to_do_when_stock_covers_demand():
    p = plan({"W1": 200, "W2": 200, "S1": 40}, {"W1": 1.0, "W2": 1.0, "S1": 0.5})
    assert p.is_empty() and p.schema == pl.Schema(ACTION_SCHEMA)
