"""forecast: schema, every model, intervals, promotions ahead; rollup per channel."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from lakehouse.forecast import DEFAULT_MODEL, MODELS, forecast, rollup
from lakehouse.forecast.models import nb_quantiles
from lakehouse.forecast.profile import impute
from tests.unit.forecast.helpers import synthetic

COLUMNS = ["product_id", "location_id", "date", "model", "mean", "lo_80", "hi_80", "lo_95",
           "hi_95"]


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    h, _ = synthetic(products=12, days=56, rate=0.6, seed=11)
    return impute(h)


def test_forecast_schema_horizon_and_defaults(history) -> None:
    fc = forecast(history)
    assert fc.columns == COLUMNS
    assert fc.schema["date"] == pl.Date and fc.schema["mean"] == pl.Float64
    keys = history.select("product_id", "location_id").unique().height
    assert fc.height == keys * 28
    last = history["date"].max()
    assert fc["date"].min() == last + timedelta(days=1)
    assert fc["date"].max() == last + timedelta(days=28)
    assert set(fc["model"]) == {DEFAULT_MODEL}


@pytest.mark.parametrize("model", [m for m in MODELS if m != "auto_ets"])
def test_every_model_forecasts_non_negative_with_ordered_intervals(history, model) -> None:
    fc = forecast(history, horizon=7, model=model)
    assert fc.height == history.select("product_id", "location_id").unique().height * 7
    assert fc["mean"].null_count() == 0
    for c in COLUMNS[4:]:
        assert (fc[c] >= 0).all(), c
    assert (fc["lo_95"] <= fc["lo_80"]).all() and (fc["lo_80"] <= fc["hi_80"]).all()
    assert (fc["hi_80"] <= fc["hi_95"]).all()
    assert set(fc["model"]) == {model}


def test_levels_are_configurable_and_checked(history) -> None:
    fc = forecast(history, horizon=3, levels=(50,))
    assert fc.columns == [*COLUMNS[:5], "lo_50", "hi_50"]
    with pytest.raises(ValueError, match="between 0 and 100"):
        forecast(history, horizon=3, levels=(100,))
    with pytest.raises(ValueError, match="unknown model"):
        forecast(history, horizon=3, model="prophet")


def test_planned_promotions_raise_the_forecast() -> None:
    promo = {t: 25.0 for t in range(10, 15)} | {t: 25.0 for t in range(30, 35)}
    h, _ = synthetic(products=20, days=56, rate=0.8, promo=promo, seed=12)
    h = impute(h)
    last = h["date"].max()
    future = (h.select("product_id", "location_id").unique()
              .with_columns(pl.lit(last + timedelta(days=2)).alias("date"),
                            pl.lit(25.0).alias("discount_pct")))
    plain = forecast(h, horizon=7)
    promoted = forecast(h, horizon=7, future=future)
    day = pl.col("date") == last + timedelta(days=2)
    ratio = promoted.filter(day)["mean"].sum() / plain.filter(day)["mean"].sum()
    assert 1.4 < ratio < 2.2
    other = ~day
    assert np.allclose(promoted.filter(other)["mean"], plain.filter(other)["mean"])


def test_intervals_cover_synthetic_demand() -> None:
    h, truth = synthetic(products=30, days=63, rate=0.7, seed=13)
    train = impute(h.filter(pl.col("date") <= h["date"].min() + timedelta(days=55)))
    fc = forecast(train, horizon=7)
    j = (fc.join(truth, on=["product_id", "location_id", "date"], how="left")
         .with_columns(pl.col("demanded").fill_null(0)))
    above_95 = (j["demanded"] > j["hi_95"]).mean()
    above_80 = (j["demanded"] > j["hi_80"]).mean()
    assert above_95 <= 0.05 and above_80 <= 0.15
    assert (j["demanded"] <= j["hi_95"]).mean() >= 0.93


def test_empty_history_gives_an_empty_forecast(history) -> None:
    fc = forecast(history.clear())
    assert fc.is_empty() and fc.columns == COLUMNS


def test_negative_binomial_quantiles() -> None:
    mean = np.array([0.0, 0.1, 2.0, 2.0])
    inv = np.array([0.0, 0.0, 0.0, 1.0])
    q = nb_quantiles(mean, inv, 0.975)
    assert q[0] == 0 and q[1] == 1 and q[2] == 5  # Poisson(2): P(X <= 5) = 0.983
    assert q[3] > q[2]  # over-dispersed: wider


def test_rollup_sums_means_per_channel_and_widens_intervals(history) -> None:
    fc = forecast(history, horizon=5)
    locations = pl.DataFrame({"location_code": ["S1", "S2", "W1"],
                              "type": ["store", "store", "warehouse"]})
    r = rollup(fc, locations)
    assert r.columns == ["product_id", "channel", "date", "model", "mean", "lo_80", "hi_80",
                         "lo_95", "hi_95", "locations"]
    assert set(r["channel"]) == {"store", "online"}
    assert abs(r["mean"].sum() - fc["mean"].sum()) < 1e-6
    stores = r.filter(pl.col("channel") == "store")
    assert (stores["locations"] == 2).all()
    per_loc = (fc.filter(pl.col("location_id").is_in(["S1", "S2"]))
               .group_by("product_id", "date").agg(pl.col("hi_95").max().alias("m")))
    j = stores.join(per_loc, on=["product_id", "date"])
    assert (j["hi_95"] >= j["m"]).all()
    assert (r["lo_95"] <= r["mean"]).all() and (r["mean"] <= r["hi_95"]).all()
