"""Demand forecasting on a small simulated lake: the history from validated tables only,
against the simulator's truth, and the nightly publish of the two gold tables."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from lakehouse.forecast import (
    ACCURACY_SCHEMA,
    HISTORY_SCHEMA,
    demand_history,
    forecast,
    future_discounts,
    publish_forecast,
    rollup,
)
from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table
from lakehouse.storage.validations import read_validated
from tests.gated import build_inventory, build_silver

KEY = ["product_id", "location_id"]


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    root = tmp_path_factory.mktemp("forecast")
    h = Home.resolve(root)
    simulate(h, SimConfig(persons=800, products=40, stores=3, warehouses=2, days=35, seed=5))
    files = discover(root)
    batch = batch_id_for(files)
    ingest_files(root, files, batch)
    build_silver(root, batch)
    build_inventory(h)
    return h


@pytest.fixture(scope="module")
def history(home) -> pl.DataFrame:
    return demand_history(home)


@pytest.fixture(scope="module")
def truth(home) -> pl.DataFrame:
    return pl.read_parquet(home.truth / "demand_daily.parquet")


def test_history_is_dense_and_typed(history) -> None:
    assert history.schema == pl.Schema(HISTORY_SCHEMA)
    per_key = history.group_by(KEY).agg(pl.len().alias("n"), pl.col("date").min().alias("a"),
                                        pl.col("date").max().alias("b"))
    assert (per_key["n"] == (per_key["b"] - per_key["a"]).dt.total_days() + 1).all()
    assert history.select(*KEY, "date").is_unique().all()
    assert (history["demand"] >= history["sold"]).all()
    c = history.filter(~pl.col("censored"))
    assert (c["demand"] == c["sold"].cast(pl.Float64)).all()
    assert history["censored"].any(), "the default simulation runs out of stock somewhere"
    assert (history["discount_pct"] > 0).any()


def test_sold_matches_the_simulators_sales(history, truth) -> None:
    """Till sales and online orders as the lake knows them are the units the simulator sold
    (online: orders placed, cancellations included, as in the truth's demanded units)."""
    end = history["date"].max()
    t = truth.filter(pl.col("date") <= end)
    j = (history.select(*KEY, "date", "sold")
         .join(t.select(*KEY, "date", "sold", "demanded"), on=[*KEY, "date"], how="full",
               coalesce=True, suffix="_true")
         .with_columns(pl.col("sold", "sold_true", "demanded").fill_null(0)))
    assert j["sold"].sum() == pytest.approx(j["sold_true"].sum(), rel=0.05)
    assert j["sold"].sum() <= j["demanded"].sum()


def test_the_last_day_is_one_every_sales_feed_reported(history, home) -> None:
    daily = read_validated(Path(table_uri(home, "gold", "inventory_daily")), ["date"])
    assert history["date"].max() < daily["date"].max()


def test_censored_days_carry_the_demand_the_truth_shows(history, truth) -> None:
    cens = history.filter(pl.col("censored"))
    j = cens.join(truth, on=[*KEY, "date"], how="left").with_columns(
        pl.col("demanded").fill_null(0))
    assert j["demand"].sum() > j["sold"].sum()
    assert j["demand"].sum() == pytest.approx(j["demanded"].sum(), rel=0.5)


def test_history_reads_validated_pins_only(tmp_path, home, history) -> None:
    """A commit no gate has checked (here: every close at zero stock) changes nothing."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(home.root, copy)
    uri = str(copy / "lake" / "gold" / "inventory_daily")
    daily = pl.read_delta(uri).with_columns(pl.lit(0, pl.Int64).alias("available_to_promise"))
    replace_table(uri, daily)
    assert DeltaTable(uri).version() > 0
    assert demand_history(copy).equals(history)


def test_forecast_with_planned_promotions_and_rollup(history, home) -> None:
    last = history["date"].max()
    planned = future_discounts(home, history.select(KEY).unique(), last + timedelta(days=1),
                               last + timedelta(days=14))
    fc = forecast(history, horizon=14, future=planned)
    assert fc.height == history.select(KEY).unique().height * 14
    assert (fc["mean"] >= 0).all() and (fc["hi_95"] >= fc["hi_80"]).all()
    locations = read_validated(Path(table_uri(home, "silver", "locations")))
    r = rollup(fc, locations)
    assert set(r["channel"]) == {"store", "online"}
    assert r["mean"].sum() == pytest.approx(fc["mean"].sum())


def test_publish_writes_both_gold_tables(tmp_path, home, history) -> None:
    import shutil

    copy = tmp_path / "pub"
    shutil.copytree(home.root, copy)
    out = publish_forecast(copy, models=("seasonal_naive", "historic_average", "imapa",
                                         "dow_profile"))
    assert out["chosen"] in out["models"] and out["chosen"] != "seasonal_naive"
    assert out["seconds"] > 0
    fc = pl.read_delta(out["demand_forecast"]["uri"])
    assert fc.height == out["demand_forecast"]["rows"] > 0
    assert fc.columns == ["product_id", "location_id", "date", "model", "mean", "lo_80",
                          "hi_80", "lo_95", "hi_95", "as_of"]
    assert set(fc["model"]) == {out["chosen"]}
    assert fc["as_of"].unique().to_list() == [history["date"].max()]
    assert fc["date"].min() == history["date"].max() + timedelta(days=1)
    acc = pl.read_delta(out["forecast_accuracy"]["uri"])
    assert acc.schema == pl.Schema(ACCURACY_SCHEMA)
    summary = acc.filter(pl.col("origin").is_null())
    assert sorted(summary["model"]) == sorted(out["models"])
    assert {r["model"] for r in out["accuracy"]} == set(out["models"])
    # scored against the simulator's demand: every model has a MASE and a bias
    assert summary["mase"].null_count() == 0 and summary["bias"].null_count() == 0
    again = publish_forecast(copy, models=("seasonal_naive", "dow_profile"))
    assert again["demand_forecast"]["version"] == out["demand_forecast"]["version"] + 1
