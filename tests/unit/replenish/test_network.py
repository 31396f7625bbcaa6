"""Lanes from locations and shipping rates, and the warehouse serving each store."""

from __future__ import annotations

import polars as pl

from lakehouse.replenish.network import lanes, serving_warehouse
from tests.unit.replenish.frames import locations, shipping_rates


def test_lanes_take_the_cheapest_service_and_stores_their_cheapest_warehouse():
    ln = lanes(locations(), shipping_rates())
    w1_s1 = ln.filter((pl.col("origin_id") == "W1") & (pl.col("location_id") == "S1"))
    assert w1_s1.select("ship_cost", "ship_days").row(0) == (5.0, 2)
    assert ln.filter(pl.col("origin_id") == pl.col("location_id")).is_empty()
    serve = serving_warehouse(locations(), shipping_rates())
    assert serve.select("location_id", "origin_id").rows() == [("S1", "W1")]
