"""Rolling-origin backtests and the model choice."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from lakehouse.forecast import ACCURACY_SCHEMA, backtest, choose, forecast
from lakehouse.forecast.backtest import cut, origins_of
from lakehouse.forecast.profile import impute
from tests.unit.forecast.helpers import synthetic

MODELS = ("seasonal_naive", "historic_average", "imapa", "dow_profile")


@pytest.fixture(scope="module")
def world() -> tuple[pl.DataFrame, pl.DataFrame]:
    # stock-outs at random times (independent of demand) in the last weeks
    outs = {(p, loc): range(40 + p % 9, 44 + p % 9) for p in range(0, 30, 2)
            for loc in ("S1", "W1")}
    h, truth = synthetic(products=30, days=70, rate=0.8, stockouts=outs,
                         promo={t: 20.0 for t in range(50, 53)} | {t: 20 for t in range(22, 26)},
                         seed=21)
    return impute(h), truth


def test_backtest_rows_per_model_and_origin_plus_a_summary(world) -> None:
    history, truth = world
    acc = backtest(history, truth, origins=3, horizon=7, models=MODELS)
    assert acc.schema == pl.Schema(ACCURACY_SCHEMA)
    assert acc.height == len(MODELS) * 4
    summary = acc.filter(pl.col("origin").is_null())
    assert sorted(summary["model"]) == sorted(MODELS)
    last = history["date"].max()
    assert sorted(acc["origin"].drop_nulls().unique()) == [
        last - timedelta(days=21), last - timedelta(days=14), last - timedelta(days=7)]
    assert (summary["n_series"] > 0).all()


def test_models_beat_seasonal_naive_and_stay_unbiased_after_stockouts(world) -> None:
    history, truth = world
    acc = backtest(history, truth, origins=4, horizon=7, models=MODELS)
    s = {r["model"]: r for r in acc.filter(pl.col("origin").is_null()).to_dicts()}
    assert s["dow_profile"]["mase"] < 0.9 * s["seasonal_naive"]["mase"]
    assert abs(s["dow_profile"]["bias"]) < 0.1
    assert abs(s["dow_profile"]["bias_after_stockout"]) < 0.15
    assert s["dow_profile"]["bias_promo"] is not None


def test_without_truth_censored_days_are_not_scored(world) -> None:
    history, _ = world
    acc = backtest(history, None, origins=2, horizon=7, models=("dow_profile",))
    assert acc.height == 3 and acc["wape"].drop_nulls().len() == 3


def test_cut_re_imputes_from_the_past_only(world) -> None:
    history, _ = world
    origin = origins_of(history, 3, 7)[0]
    train = cut(history, origin)
    assert train["date"].max() == origin
    later = history.with_columns(pl.when(pl.col("date") > origin).then(pl.col("sold") * 50)
                                 .otherwise(pl.col("sold")).alias("sold"))
    assert cut(later, origin).equals(train)


def test_origins_need_history_behind_them(world) -> None:
    history, _ = world
    short = history.filter(pl.col("date") <= history["date"].min() + timedelta(days=21))
    assert len(origins_of(short, 3, 7)) == 1
    assert backtest(short.clear()).is_empty()


def test_choose_prefers_low_mase_among_unbiased_models() -> None:
    rows = [("seasonal_naive", 0.5, 0.0, 0.0), ("ses", 0.8, -0.2, 0.4),
            ("imapa", 0.85, 0.05, 0.09), ("dow_profile", 0.86, 0.01, 0.02)]
    acc = pl.DataFrame([{"model": m, "origin": None, "mase": x, "wape": 1.0, "bias": b,
                         "bias_promo": 0.0, "bias_after_stockout": s, "n_series": 10}
                        for m, x, b, s in rows], schema=ACCURACY_SCHEMA)
    assert choose(acc) == "imapa"
    assert choose(acc.filter(pl.col("model") != "imapa")) == "dow_profile"
    assert choose(acc.filter(pl.col("model") == "ses")) == "dow_profile"  # none qualifies


def test_auto_ets_runs_on_a_few_keys(world) -> None:
    history, _ = world
    few = history.filter(pl.col("product_id").is_in(["P000", "P001"]))
    fc = forecast(few, horizon=7, model="auto_ets")
    assert fc.height == 2 * 3 * 7 and (fc["mean"] >= 0).all()


def test_a_long_stockout_does_not_drag_the_forecast_down() -> None:
    """Two weeks out of stock right before the origin: trained on sales a model sees two weeks
    of zeros; trained on demand (censored days imputed) it forecasts what customers want."""
    outs = {(p, loc): range(42, 56) for p in range(0, 40, 2) for loc in ("S1", "S2", "W1")}
    h, truth = synthetic(products=40, days=63, rate=0.8, stockouts=outs, seed=31)
    demand = impute(h)
    sales = h.with_columns(pl.lit(False).alias("censored"))  # every zero taken at face value
    origin = h["date"].min() + timedelta(days=55)
    out_keys = pl.DataFrame([(f"P{p:03d}", loc) for p, loc in outs],
                            schema=["product_id", "location_id"], orient="row")
    week = (truth.filter(pl.col("date") > origin)
            .join(out_keys, on=["product_id", "location_id"])["demanded"].sum())
    got = {}
    for name, frame in (("demand", demand), ("sales", sales)):
        train = cut(frame, origin)
        fc = forecast(train, horizon=7).join(out_keys, on=["product_id", "location_id"])
        got[name] = fc["mean"].sum() / week - 1
    assert abs(got["demand"]) < 0.15
    assert got["sales"] < -0.15  # about -20%: two of the last weeks read as no demand
