"""Supplier performance learnt from purchase orders, lanes from locations and rates, and the
gamma lead-time demand the policy rests on."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from frames import AS_OF, forecast, locations, purchase_orders, shipping_rates, suppliers

from lakehouse.replenish.demand import daily_demand, expected_shortfall, quantile
from lakehouse.replenish.network import lanes, serving_warehouse
from lakehouse.replenish.suppliers import supplier_performance


def test_observed_lead_times_outweigh_the_promise_as_orders_accumulate():
    late = supplier_performance(purchase_orders([9] * 30), suppliers(lead=5), prior_weight=3)
    row = late.row(0, named=True)
    assert row["lead_mean"] == pytest.approx((30 * 9 + 3 * 5) / 33)
    assert row["deliveries"] == 30 and row["on_time_share"] == 0.0
    few = supplier_performance(purchase_orders([9]), suppliers(lead=5), prior_weight=3)
    assert few["lead_mean"][0] == pytest.approx((9 + 15) / 4)  # one order barely moves it


def test_unproven_supplier_keeps_its_promise_with_a_spread():
    perf = supplier_performance(purchase_orders([4, 6], supplier="OTHER"), suppliers(lead=8))
    row = perf.filter(pl.col("supplier_id") == "SUP1").row(0, named=True)
    assert row["lead_mean"] == 8.0 and row["lead_var"] == pytest.approx((0.25 * 8) ** 2)
    assert row["fill_rate"] == 1.0 and row["deliveries"] == 0
    other = perf.filter(pl.col("supplier_id") == "OTHER").row(0, named=True)
    assert other["lead_mean"] == 5.0 and other["lead_var"] == 1.0  # observed only


def test_short_deliveries_lower_the_fill_rate():
    perf = supplier_performance(purchase_orders([5] * 9, delivered=[5] * 9), suppliers(),
                                prior_weight=1)
    assert perf["fill_rate"][0] == pytest.approx((9 * 0.5 + 1) / 10)


def test_lanes_take_the_cheapest_service_and_stores_their_cheapest_warehouse():
    ln = lanes(locations(), shipping_rates())
    w1_s1 = ln.filter((pl.col("origin_id") == "W1") & (pl.col("location_id") == "S1"))
    assert w1_s1.select("ship_cost", "ship_days").row(0) == (5.0, 2)
    assert ln.filter(pl.col("origin_id") == pl.col("location_id")).is_empty()
    serve = serving_warehouse(locations(), shipping_rates())
    assert serve.select("location_id", "origin_id").rows() == [("S1", "W1")]


def test_daily_demand_reads_variance_off_the_upper_bound_and_never_below_poisson():
    fc = forecast({"W1": 4.0}).with_columns(
        pl.when(pl.col("date") > AS_OF + timedelta(days=14)).then(pl.col("mean") + 2.5631)
        .otherwise(pl.col("mean")).alias("hi_80"))  # tighter than Poisson, then sd 2
    d = daily_demand(fc, AS_OF, 28).row(0, named=True)
    assert d["rate"] == pytest.approx(4.0)
    assert d["rate_var"] == pytest.approx((4.0 + 4.0) / 2, rel=1e-3)  # Poisson floor, then 4


def test_a_forecast_ending_early_stands_for_the_days_after_it():
    fc = forecast({"W1": 2.0}, days=10)
    late = daily_demand(fc, AS_OF + timedelta(days=20), 28)
    assert late["rate"].to_list() == [2.0]


def test_gamma_quantile_and_shortfall_agree_with_sampling():
    rng = np.random.default_rng(1)
    mu, var = np.array([3.0]), np.array([6.0])
    sample = rng.gamma(mu ** 2 / var, var / mu, 400_000)
    assert quantile(0.9, mu, var)[0] == pytest.approx(np.quantile(sample, 0.9), rel=0.01)
    for x in (0.0, 2.0, 6.0):
        es = expected_shortfall(np.array([x]), mu, var)[0]
        assert es == pytest.approx(np.maximum(sample - x, 0).mean(), rel=0.02)
    assert expected_shortfall(np.array([-2.0]), mu, var)[0] == pytest.approx(5.0)
    assert quantile(0.9, np.array([0.0]), np.array([0.0]))[0] == 0.0
