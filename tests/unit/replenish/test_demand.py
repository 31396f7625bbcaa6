"""The gamma lead-time demand the policy rests on: daily rates and variances read off the
forecast, its quantiles and expected shortfall."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from lakehouse.replenish.demand import daily_demand, expected_shortfall, quantile
from tests.unit.replenish.frames import AS_OF, forecast


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
