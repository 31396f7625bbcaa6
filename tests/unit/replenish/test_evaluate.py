"""The replay: true demand served from stock day by day, actions carried out with lead times
drawn from the supplier's history, capacity and stock enforced, costs counted."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from lakehouse.replenish import ACTION_SCHEMA, Costs, evaluate
from tests.unit.replenish.frames import (
    AS_OF,
    forecast,
    locations,
    products,
    purchase_orders,
    shipping_rates,
    suppliers,
)

DAYS = 6


def demand(rates: dict[str, int]) -> pl.DataFrame:
    rows = [("P1", loc, AS_OF + timedelta(days=k), q) for loc, q in rates.items()
            for k in range(DAYS)]
    return pl.DataFrame(rows, schema=["product_id", "location_id", "date", "demanded"],
                        orient="row")


def state(**on_hand: int) -> pl.DataFrame:
    return pl.DataFrame({"product_id": ["P1"] * len(on_hand), "location_id": list(on_hand),
                         "on_hand": list(on_hand.values())})


def once(action: str, source: str, dest: str, qty: int):
    """A policy that places one action on the first day and nothing after."""
    seen = []

    def policy(fc, positions, *args) -> pl.DataFrame:
        seen.append(positions)
        as_of = args[-2]
        if as_of != AS_OF:
            return pl.DataFrame(schema=ACTION_SCHEMA)
        row = dict.fromkeys(ACTION_SCHEMA)
        row.update(product_id="P1", location_id=dest, action=action, source_id=source,
                   quantity=qty, order_date=as_of)
        return pl.DataFrame([row], schema=ACTION_SCHEMA)
    policy.seen = seen
    return policy


def run(policy, dem, start, capacity=100, leads=(3,) * 5, **kw):
    return evaluate(policy, dem, start, forecast=forecast({"S1": 1.0}), products=products(),
                    suppliers=suppliers(), purchase_orders=purchase_orders(list(leads)),
                    locations=locations(capacity), shipping_rates=shipping_rates(),
                    start=AS_OF, days=DAYS, **kw)


def test_doing_nothing_loses_what_the_shelf_cannot_serve_and_pays_holding_only():
    r = run(once("transfer", "W1", "S1", 0), demand({"S1": 1}), state(W1=10, S1=2))
    assert r["demanded_units"] == 6 and r["lost_units"] == 4
    assert r["fill_rate"] == pytest.approx(2 / 6)
    assert r["order_cost"] == r["shipping_cost"] == 0 and r["orders"] == r["transfers"] == 0
    held = (11 + 10 * 5) * 10.0 * 0.25 / 365  # unit-days on hand at the closes x cost x rate
    assert r["holding_cost"] == pytest.approx(held, abs=0.01)
    assert r["lost_sales_value"] == pytest.approx(4 * 20.0)  # at the margin
    assert r["lost_by_location"] == {"S1": 4, "W1": 0}


def test_a_transfer_arrives_after_the_lane_days_and_pays_its_parcels():
    policy = once("transfer", "W1", "S1", 4)
    r = run(policy, demand({"S1": 1}), state(W1=10, S1=2))
    assert r["lost_units"] == 0 and r["units_transferred"] == 4
    assert r["shipping_cost"] == 5.0  # one parcel on the A -> A lane
    day1 = policy.seen[1].filter(pl.col("location_id") == "S1").row(0, named=True)
    assert day1["inbound"] == 4 and day1["next_expected_date"] == AS_OF + timedelta(days=2)


def test_warehouse_capacity_and_stock_bound_what_leaves():
    blocked = run(once("transfer", "W1", "S1", 4), demand({"S1": 1}), state(W1=10, S1=2),
                  capacity=0)
    assert blocked["lost_units"] == 4 and blocked["transfers"] == 0
    short = run(once("transfer", "W1", "S1", 4), demand({"S1": 1}), state(W1=1, S1=2))
    assert short["units_transferred"] == 1 and short["lost_units"] == 3


def test_a_purchase_order_arrives_after_a_lead_time_from_the_supplier_history():
    r = run(once("order", "SUP1", "W1", 10), demand({"W1": 2}), state(W1=0), leads=(3,) * 5)
    assert r["lost_units"] == 6 and r["orders"] == 1  # days 0-2 lost, 3-5 served
    assert r["order_cost"] == Costs().order_cost
    slow = run(once("order", "SUP1", "W1", 10), demand({"W1": 2}), state(W1=0),
               leads=(5,) * 5)
    assert slow["lost_units"] == 10


def test_pipeline_and_warmup():
    pipe = pl.DataFrame({"product_id": ["P1"], "location_id": ["S1"],
                         "arrival": [AS_OF + timedelta(days=1)], "quantity": [3]})
    r = run(once("transfer", "W1", "S1", 0), demand({"S1": 1}), state(S1=0), pipeline=pipe)
    assert r["lost_units"] == 3  # day 0, then days 4 and 5
    warm = run(once("transfer", "W1", "S1", 0), demand({"S1": 1}), state(S1=0),
               pipeline=pipe, warmup_days=1)
    assert warm["days"] == DAYS - 1 and warm["demanded_units"] == 5
    assert warm["lost_units"] == 2
