"""The day-of-week profile model: weekday factors, promotion uplift, levels, censored days."""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import stats

from lakehouse.forecast.profile import (
    conditional_mean,
    expected_demand,
    fit_profile,
    impute,
)
from tests.unit.forecast.helpers import WEEKDAY, synthetic


def test_weekday_profile_is_recovered() -> None:
    history, _ = synthetic(products=40, days=84, rate=1.0, seed=1)
    prof = fit_profile(history)
    got = (prof.dow.filter(pl.col("location_id") == "S1").sort("dow")["dow_factor"]
           .to_numpy())
    assert np.allclose(got, WEEKDAY, atol=0.12)
    assert abs(got.mean() - 1.0) < 1e-9


def test_promotion_uplift_is_recovered_and_never_negative() -> None:
    promo = {t: 30.0 for t in range(20, 27)} | {t: 15.0 for t in range(50, 55)}
    history, _ = synthetic(products=40, days=84, rate=1.0, promo=promo, seed=2)
    # every key is on promotion on those days: own discount = breadth
    prof = fit_profile(history)
    assert 0.02 < prof.beta[1] < 0.04
    assert min(prof.beta) >= 0.0
    flat, _ = synthetic(products=10, days=42, seed=3)
    assert fit_profile(flat).beta == (0.0, 0.0)


def test_levels_follow_the_product_rates() -> None:
    history, truth = synthetic(products=30, days=84, rate=0.8, seed=4)
    prof = fit_profile(history)
    true_rate = (truth.group_by("product_id").agg(pl.col("demanded").sum() / (84 * 3))
                 .rename({"demanded": "rate"}))
    lv = (prof.level.group_by("product_id").agg(pl.col("level").mean())
          .join(true_rate, on="product_id"))
    assert np.corrcoef(lv["level"], lv["rate"])[0, 1] > 0.9
    assert abs(lv["level"].sum() / lv["rate"].sum() - 1) < 0.1


def test_censored_days_are_imputed_not_read_as_zero() -> None:
    outs = {(p, "S1"): range(60, 70) for p in range(20)}
    history, truth = synthetic(products=20, days=70, rate=1.0, stockouts=outs, seed=5)
    filled = impute(history)
    cens = filled.filter(pl.col("censored"))
    assert cens.height == 200 and (cens["sold"] == 0).all()
    true = (cens.join(truth, on=["product_id", "location_id", "date"], how="left")
            ["demanded"].fill_null(0).sum())
    assert abs(cens["demand"].sum() / true - 1) < 0.2
    # uncensored days keep what sold
    unc = filled.filter(~pl.col("censored"))
    assert (unc["demand"] == unc["sold"].cast(pl.Float64)).all()


def test_a_sold_out_day_counts_at_least_what_sold() -> None:
    history, _ = synthetic(products=5, days=42, rate=0.3, seed=6)
    history = history.with_columns(
        pl.when((pl.col("product_id") == "P000") & (pl.col("date") == pl.col("date").max()))
        .then(True).otherwise(pl.col("censored")).alias("censored"),
        pl.when((pl.col("product_id") == "P000") & (pl.col("date") == pl.col("date").max()))
        .then(7).otherwise(pl.col("sold")).alias("sold"))
    filled = impute(history)
    day = filled.filter(pl.col("censored"))
    assert (day["demand"] > 7).all()


def test_conditional_mean_of_a_poisson() -> None:
    mean = np.array([0.5, 2.0, 2.0, 0.0, 3.0])
    sold = np.array([0.0, 0.0, 3.0, 2.0, 1.0])
    got = conditional_mean(mean, sold)
    for m, s, g in zip(mean, sold, got, strict=True):
        if m == 0:
            assert g == s
            continue
        k = np.arange(int(s), 200)
        p = stats.poisson.pmf(k, m)
        assert abs(g - (k * p).sum() / p.sum()) < 1e-9


def test_expected_demand_is_level_times_factors() -> None:
    history, _ = synthetic(products=5, days=28, seed=7)
    prof = fit_profile(history)
    e = expected_demand(history.select("product_id", "location_id", "date", "discount_pct"),
                        prof)
    assert (e["expected"] >= 0).all() and e["expected"].null_count() == 0


def test_the_profile_does_not_depend_on_the_order_of_the_history_rows() -> None:
    # float sums follow row order: a level that moved in its last bits moved the uplift and
    # every forecast fitted on it from run to run (joins return rows in any order)
    promo = {t: 30.0 for t in range(20, 27)} | {t: 15.0 for t in range(50, 55)}
    history, _ = synthetic(products=40, days=84, rate=1.0, promo=promo, seed=5)
    first = fit_profile(history)
    for seed in (1, 2, 3):
        again = fit_profile(history.sample(fraction=1.0, shuffle=True, seed=seed))
        assert again.beta == first.beta
        for name in ("level", "dow"):
            a, b = getattr(first, name), getattr(again, name)
            assert b.sort(b.columns).equals(a.sort(a.columns)), name
