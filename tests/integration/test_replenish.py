"""Replenishment on a real small simulated home: inputs read at their validated pins, the plan
published as a Delta table, and the policy replayed against the simulator's true demand."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse.home import Home
from lakehouse.replenish import (
    ACTION_SCHEMA,
    Costs,
    MissingInputError,
    evaluate,
    publish_replenishment,
    recommend_replenishment,
    reorder_point_baseline,
    start_from_truth,
)
from lakehouse.replenish.publish import INPUTS, read_input
from lakehouse.simulate import SimConfig
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table
from lakehouse.storage.validations import record_validation
from tests.gated import simulated_lake
from tests.unit.replenish.standin_forecast import MODEL, standin_forecast

CONFIG = SimConfig(persons=150, products=40, days=21, seed=5)
AS_OF = CONFIG.start + timedelta(days=CONFIG.days - 2)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    return simulated_lake(tmp_path_factory.mktemp("replenish"), CONFIG)


@pytest.fixture(scope="module")
def fc(home) -> pl.DataFrame:
    return standin_forecast(home, AS_OF)


@pytest.fixture(scope="module")
def frames(home) -> dict[str, pl.DataFrame]:
    return {k: read_input(home, *spec) for k, spec in INPUTS.items()}


def test_without_a_validated_forecast_the_error_names_the_table(home):
    with pytest.raises(MissingInputError, match="gold/demand_forecast"):
        publish_replenishment(home)


def test_published_plan_is_a_gold_table_of_feasible_actions(home, fc, frames):
    out = publish_replenishment(home, fc, as_of=AS_OF)
    table = pl.read_delta(out["uri"])
    assert out["rows"] == table.height > 0 and out["version"] == DeltaTable(out["uri"]).version()
    assert out["orders"] + out["transfers"] == table.height
    assert out["units"] == table["quantity"].sum()
    assert table.drop("as_of").schema == pl.Schema(ACTION_SCHEMA)
    assert table["as_of"].unique().to_list() == [AS_OF]
    assert (table["quantity"] > 0).all() and (table["order_date"] >= AS_OF).all()
    assert (table["expected_arrival"] >= table["order_date"]).all()
    loc = frames["locations"]
    warehouses = set(loc.filter(pl.col("type") == "warehouse")["location_code"])
    orders = table.filter(pl.col("action") == "order")
    assert set(orders["location_id"]) <= warehouses  # suppliers deliver to warehouses
    prod = frames["products"].select("product_id", "supplier_id")
    assert orders.join(prod, on="product_id").filter(
        pl.col("source_id") != pl.col("supplier_id")).is_empty()
    transfers = table.filter(pl.col("action") == "transfer")
    assert set(transfers["source_id"]) <= warehouses
    assert (transfers["source_id"] != transfers["location_id"]).all()
    cap = dict(zip(loc["location_code"], loc["ship_capacity_per_day"], strict=True))
    daily = transfers.group_by("source_id", "order_date").agg(pl.col("quantity").sum())
    for origin, qty in daily.select("source_id", "quantity").iter_rows():
        assert qty <= cap[origin] * Costs().units_per_parcel


def test_the_forecast_defaults_to_the_newest_validated_gold_demand_forecast(home, fc):
    uri = table_uri(home, "gold", "demand_forecast")
    old = fc.with_columns(pl.lit(AS_OF - timedelta(days=1)).alias("as_of"),
                          pl.col("mean") * 50)  # an older run: would change the plan
    version = replace_table(uri, pl.concat([old, fc.with_columns(pl.lit(AS_OF).alias("as_of"))]))
    record_validation(uri, version, "test.demand_forecast", 0, "test")
    from_table = publish_replenishment(home, as_of=AS_OF)
    given = publish_replenishment(home, fc, as_of=AS_OF)
    assert from_table["rows"] == given["rows"] and from_table["units"] == given["units"]


def test_policy_and_baseline_replay_the_true_demand(home, fc, frames):
    truth = pl.read_parquet(home.truth / "demand_daily.parquet")
    start, days = AS_OF - timedelta(days=9), 10
    forecast = standin_forecast(home, start - timedelta(days=1), horizon=days + 28)
    assert forecast["model"].unique().to_list() == [MODEL]
    state, pipeline = start_from_truth(pl.read_parquet(home.truth / "stock_daily.parquet"),
                                       frames["purchase_orders"], start)
    kw = {k: frames[k] for k in ("products", "suppliers", "purchase_orders", "locations",
                                 "shipping_rates")}
    results = {fn.__name__: evaluate(fn, truth, state, forecast=forecast, start=start,
                                     days=days, pipeline=pipeline, **kw)
               for fn in (recommend_replenishment, reorder_point_baseline)}
    wanted = truth.filter(pl.col("date").is_between(start, start + timedelta(days=days - 1)))
    for r in results.values():
        assert r["demanded_units"] == wanted["demanded"].sum()
        assert 0 <= r["lost_units"] <= r["demanded_units"]
        assert sum(r["lost_by_location"].values()) == r["lost_units"]
        assert r["total_cost"] == pytest.approx(r["holding_cost"] + r["order_cost"]
                                                + r["shipping_cost"], abs=0.05)
        assert r["holding_cost"] > 0 and r["orders"] > 0
    # a replay is deterministic (lead-time draws keyed by seed, product, location and day)
    again = evaluate(recommend_replenishment, truth, state, forecast=forecast, start=start,
                     days=days, pipeline=pipeline, **kw)
    assert {k: v for k, v in again.items() if k != "seconds"} == {
        k: v for k, v in results["recommend_replenishment"].items() if k != "seconds"}
    # doing nothing: no orders, no parcels, only holding
    idle = evaluate(lambda *a: pl.DataFrame(schema=ACTION_SCHEMA), truth, state,
                    forecast=forecast, start=start, days=days, pipeline=pipeline, **kw)
    assert idle["order_cost"] == idle["shipping_cost"] == 0 and idle["orders"] == 0
    assert idle["total_cost"] == idle["holding_cost"] > 0


def test_the_start_state_is_the_true_free_stock_before_the_window(home, frames):
    stock = pl.read_parquet(home.truth / "stock_daily.parquet")
    start = date(2026, 1, 10)
    state, pipeline = start_from_truth(stock, frames["purchase_orders"], start)
    eve = stock.filter(pl.col("date") == start - timedelta(days=1))
    assert state["on_hand"].sum() == (eve["on_hand"] - eve["reserved"]).clip(0).sum()
    assert (pipeline["arrival"] >= start).all()


def test_inputs_are_read_at_their_validated_pins(home, frames):
    """Last in the module: it appends to the shared home's catalog."""
    uri = table_uri(home, "silver", "products")
    extra = pl.read_delta(uri).head(1).with_columns(pl.lit("PRD-X").alias("product_id"))
    write_deltalake(uri, extra.to_arrow(), mode="append")  # not gated: must not be read
    assert pl.read_delta(uri).height == frames["products"].height + 1
    assert read_input(home, *INPUTS["products"]).height == frames["products"].height


def test_a_source_that_never_delivered_gives_an_empty_plan_that_names_it(home, fc, tmp_path):
    """No purchase orders have landed yet (the table does not exist): the night does not fail,
    the plan is empty and says which input it lacked; an unvalidated table still fails."""
    import shutil

    copy = Home.resolve(shutil.copytree(home.root, tmp_path / "h"))
    shutil.rmtree(table_uri(copy, "silver", "purchase_orders"))
    out = publish_replenishment(copy, fc, as_of=AS_OF)
    assert out["missing"] == ["silver/purchase_orders"]
    assert out["rows"] == 0 == pl.read_delta(out["uri"]).height
    assert out["orders"] == out["transfers"] == out["units"] == 0
