"""demand_history's pure parts: what counts as sold, when a day is censored, the dense grid, the
promotion calendar and the last complete day."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from lakehouse.forecast.history import (
    HISTORY_SCHEMA,
    complete_through,
    daily_sales,
    discount_calendar,
    observed_history,
)

D0 = date(2026, 1, 1)
LOCATIONS = pl.DataFrame({"location_code": ["ST1", "WH1", "WH2"],
                          "type": ["store", "warehouse", "warehouse"]})
PRODUCTS = pl.DataFrame({"product_id": ["P1", "P2"], "category": ["toys", "garden"],
                         "price": [10.0, 20.0], "launched_on": [date(2020, 1, 1)] * 2})
NO_PROMOS = pl.DataFrame(schema={"category": pl.String, "discount_pct": pl.Float64,
                                 "start_date": pl.Date, "end_date": pl.Date,
                                 "channels": pl.String})


def ledger(rows: list[tuple]) -> pl.DataFrame:
    """(product, location, day offset, source, kind, delta_on_hand, delta_reserved)."""
    return pl.DataFrame(
        [(p, loc, D0 + timedelta(days=d), src, kind, doh, dres)
         for p, loc, d, src, kind, doh, dres in rows],
        schema={"product_id": pl.String, "location_id": pl.String, "business_day": pl.Date,
                "source": pl.String, "kind": pl.String, "delta_on_hand": pl.Int64,
                "delta_reserved": pl.Int64}, orient="row")


def daily(product: str, location: str, atp: list[int], on_hand: list[int] | None = None
          ) -> pl.DataFrame:
    on_hand = on_hand or [max(a, 0) for a in atp]
    n = len(atp)
    return pl.DataFrame({"product_id": [product] * n, "location_id": [location] * n,
                         "date": [D0 + timedelta(days=i) for i in range(n)],
                         "on_hand": on_hand, "reserved": [0] * n, "available_to_promise": atp})


def test_sold_counts_till_sales_and_online_orders_not_cancellations() -> None:
    led = ledger([
        ("P1", "ST1", 0, "pos", "sale", -2, 0),
        ("P1", "ST1", 0, "pos", "sale", -1, 0),
        ("P1", "WH1", 0, "shop", "reserve", 0, 3),
        ("P1", "WH1", 1, "shop", "release", 0, -3),  # a cancellation is still demand
        ("P1", "WH1", 1, "wms", "pick", -3, -3),  # fulfilment, not demand
        ("P1", "WH1", 1, "wms", "receipt", 10, 0),
        ("P1", "ST1", 1, "wms", "transfer_in", 4, 0),
    ])
    s = daily_sales(led)
    assert s.sort("location_id", "date").rows() == [
        ("P1", "ST1", D0, 3), ("P1", "WH1", D0, 3)]


def test_dense_grid_with_zero_days_and_the_history_schema() -> None:
    d = daily("P1", "ST1", [5, 5, 5, 5, 5])
    sales = daily_sales(ledger([("P1", "ST1", 2, "pos", "sale", -1, 0),
                                ("P1", "ST1", 0, "pos", "sale", -1, 0)]))
    h = observed_history(d, sales, PRODUCTS, NO_PROMOS, LOCATIONS)
    assert h.schema == pl.Schema(HISTORY_SCHEMA)
    assert h["sold"].to_list() == [1, 0, 1, 0, 0]
    assert not h["censored"].any() and h["in_stock"].all()
    assert h["price"].to_list() == [10.0] * 5
    assert h["discount_pct"].to_list() == [0.0] * 5


def test_a_store_day_that_opens_or_closes_without_free_stock_is_censored() -> None:
    # close ATP: 2, 0 (sold out during day 1), 0 (empty all day 2), 3 (restocked day 3), 3
    d = daily("P1", "ST1", [2, 0, 0, 3, 3])
    sales = daily_sales(ledger([("P1", "ST1", 1, "pos", "sale", -2, 0),
                                ("P9", "ST1", 0, "pos", "sale", -1, 0)]))  # data from day 0
    h = observed_history(d, sales, PRODUCTS, NO_PROMOS, LOCATIONS)
    assert h["censored"].to_list() == [False, True, True, True, False]
    assert h["in_stock"].to_list() == [True, True, False, True, True]


def test_a_warehouse_out_of_stock_is_censored_only_when_the_online_pool_is_dry() -> None:
    wh1 = daily("P1", "WH1", [3, 0, 0, 0, 2])
    wh2 = daily("P1", "WH2", [4, 4, 0, 4, 4])  # takes WH1's orders on day 1, empty on day 2
    h = observed_history(pl.concat([wh1, wh2]), daily_sales(ledger([
        ("P1", "WH2", 0, "shop", "reserve", 0, 1)])), PRODUCTS, NO_PROMOS, LOCATIONS)
    w1 = h.filter(pl.col("location_id") == "WH1").sort("date")
    assert w1["censored"].to_list() == [False, False, True, True, False]
    assert w1["in_stock"].to_list() == [True, True, False, False, True]


def test_active_days_start_at_first_stock_or_sale_and_not_before_launch() -> None:
    d = pl.concat([daily("P1", "ST1", [0, 0, 4, 4, 4], on_hand=[0, 0, 4, 4, 4]),
                   daily("P2", "ST1", [5, 5, 5, 5, 5])])
    products = PRODUCTS.with_columns(
        pl.when(pl.col("product_id") == "P2").then(pl.lit(D0 + timedelta(days=3)))
        .otherwise(pl.col("launched_on")).alias("launched_on"))
    sales = daily_sales(ledger([("P2", "ST1", 0, "pos", "sale", -1, 0)]))
    h = observed_history(d, sales, products, NO_PROMOS, LOCATIONS)
    first = dict(h.group_by("product_id").agg(pl.col("date").min()).rows())
    assert first == {"P1": D0 + timedelta(days=2), "P2": D0 + timedelta(days=3)}


def test_as_of_cuts_the_history() -> None:
    d = daily("P1", "ST1", [5] * 10)
    h = observed_history(d, daily_sales(ledger([("P1", "ST1", 0, "pos", "sale", -1, 0)])),
                         PRODUCTS, NO_PROMOS, LOCATIONS, as_of=D0 + timedelta(days=3))
    assert h["date"].max() == D0 + timedelta(days=3)


def test_discount_calendar_by_category_channel_and_sitewide() -> None:
    promos = pl.DataFrame({
        "category": ["toys", None, "garden", "toys"],
        "discount_pct": [20.0, 10.0, 30.0, 40.0],
        "start_date": [D0, D0 + timedelta(days=2), D0, D0 + timedelta(days=4)],
        "end_date": [D0 + timedelta(days=1), D0 + timedelta(days=2), D0, D0 + timedelta(days=4)],
        "channels": ["web;app;store", "store", "app", "web;app"],
    })
    keys = pl.DataFrame({"product_id": ["P1", "P1", "P2", "P2"],
                         "location_id": ["ST1", "WH1", "ST1", "WH1"]})
    cal = discount_calendar(keys, D0, D0 + timedelta(days=6), PRODUCTS, promos, LOCATIONS)
    got = {(r["product_id"], r["location_id"], (r["date"] - D0).days): r["discount_pct"]
           for r in cal.to_dicts()}
    assert got == {
        ("P1", "ST1", 0): 20.0, ("P1", "ST1", 1): 20.0, ("P1", "WH1", 0): 20.0,
        ("P1", "WH1", 1): 20.0,
        ("P1", "ST1", 2): 10.0, ("P2", "ST1", 2): 10.0,  # sitewide (null category), store only
        ("P2", "WH1", 0): 15.0,  # app only: half of the online channels
        ("P1", "WH1", 4): 40.0,
    }


def test_overlapping_promotions_take_the_largest_discount() -> None:
    promos = pl.DataFrame({"category": ["toys", ""], "discount_pct": [20.0, 35.0],
                           "start_date": [D0, D0], "end_date": [D0, D0],
                           "channels": ["store", "store"]})
    keys = pl.DataFrame({"product_id": ["P1"], "location_id": ["ST1"]})
    cal = discount_calendar(keys, D0, D0, PRODUCTS, promos, LOCATIONS)
    assert cal["discount_pct"].to_list() == [35.0]


def test_complete_through_waits_for_the_slowest_sales_feed() -> None:
    led = ledger([("P1", "ST1", 4, "pos", "sale", -1, 0),
                  ("P1", "WH1", 6, "shop", "reserve", 0, 1),
                  ("P1", "WH1", 9, "wms", "receipt", 5, 0)])
    assert complete_through(led) == D0 + timedelta(days=4)
    assert complete_through(led.filter(pl.col("kind") == "receipt")) is None


@pytest.mark.parametrize("frame", [pl.DataFrame(schema={"product_id": pl.String,
                                                         "location_id": pl.String,
                                                         "date": pl.Date, "on_hand": pl.Int64,
                                                         "reserved": pl.Int64,
                                                         "available_to_promise": pl.Int64})])
def test_no_inventory_gives_an_empty_history(frame) -> None:
    h = observed_history(frame, daily_sales(ledger([])), PRODUCTS, NO_PROMOS, LOCATIONS)
    assert h.is_empty() and h.schema == pl.Schema(HISTORY_SCHEMA)
