"""Supplier performance learnt from purchase orders: observed lead times and fill rates against
the promise."""

from __future__ import annotations

import polars as pl
import pytest

from lakehouse.replenish.suppliers import supplier_performance
from tests.unit.replenish.frames import purchase_orders, suppliers


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
