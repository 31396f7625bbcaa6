"""The re-ranking: hard stock gate, already-bought rule, delivery and quality factors."""

from __future__ import annotations

import polars as pl

from lakehouse.recommend.rerank import (
    REASONS,
    REC_SCHEMA,
    build_recommendations,
    channel_stock,
    cheapest_delivery,
    consumable_categories,
)
from tests.unit.recommend.frames import T0, availability, fulfilment, quality, signals

PRODUCTS = ["A", "B", "C", "D"]
Q = quality(dict.fromkeys(PRODUCTS, 0.8))


def build(frame, units, options=None, **kw):
    return build_recommendations(frame, availability(units), fulfilment(options or {}), Q,
                                 kw.pop("n", 3), as_of=T0, **kw)


def test_unavailable_products_never_enter_a_list_even_when_most_relevant():
    frame = signals([(f"p{i}", "A", 1, "purchase") for i in range(5)]
                    + [("p9", "A", 1, "view"), ("p9", "B", 2, "view")])
    recs = build(frame, {("A", "web"): 0, ("B", "web"): 4, ("C", "web"): 1,
                         ("A", "app"): 3, ("B", "app"): 0, ("C", "app"): 0},
                 requests=pl.DataFrame({"person_id": ["p9", "p9"], "channel": ["web", "app"]}))
    web = recs.filter(pl.col("channel") == "web")
    assert set(web["product_id"]) == {"B", "C"}  # A is the most bought, but web has none
    app = recs.filter(pl.col("channel") == "app")
    assert app["product_id"].to_list() == ["A"]  # only A is in stock for the app
    assert app["rank"].to_list() == [1]  # a short list when stock runs out, ranks from 1
    assert (recs["available_to_promise"] > 0).all()
    assert dict(recs.schema) == REC_SCHEMA


def test_durables_already_bought_are_left_out_consumables_stay():
    cats = pl.DataFrame({"product_id": ["A", "B"], "category": ["tents", "soap"]})
    # soap is re-bought on another day by its buyer: repeat rate 1 (consumable); tents 0
    frame = signals([("p1", "A", 5, "purchase"), ("p1", "B", 5, "purchase"),
                     ("p1", "B", 2, "purchase")])
    assert consumable_categories(frame, cats) == {"soap"}
    recs = build(frame, {("A", "web"): 2, ("B", "web"): 2}, categories=cats)
    assert recs["product_id"].to_list() == ["B"]
    kept = build(frame, {("A", "web"): 2, ("B", "web"): 2}, categories=cats,
                 exclude_bought=False)
    assert set(kept["product_id"]) == {"A", "B"}


def test_cheaper_faster_delivery_and_better_quality_break_ties():
    frame = signals([("p1", "X", 3, "view"), ("p2", "A", 3, "purchase"),
                     ("p2", "B", 3, "purchase"), ("p3", "A", 3, "purchase"),
                     ("p3", "B", 3, "purchase")])
    zones = pl.DataFrame({"person_id": ["p1"], "zone": ["N"]})
    units = {("A", "web"): 5, ("B", "web"): 5}
    options = {("A", "N"): (20.0, 6), ("B", "N"): (5.0, 1), ("A", "S"): (1.0, 1)}
    req = pl.DataFrame({"person_id": ["p1"], "channel": ["web"]})
    recs = build(frame, units, options, zones=zones, requests=req)
    assert recs["product_id"].to_list() == ["B", "A"]  # same relevance: B ships cheaper
    assert recs.select("fulfilment_cost", "delivery_days").rows() == [(5.0, 1), (20.0, 6)]
    flat = build(frame, units, options, zones=zones, requests=req, rerank=False)
    assert flat["score"][0] == flat["score"][1]  # without re-ranking they tie
    better = build_recommendations(frame, availability(units), fulfilment({}),
                                   quality({"A": 0.9, "B": 0.1}), 2, as_of=T0, requests=req)
    assert better["product_id"].to_list() == ["A", "B"]


def test_person_without_zone_gets_the_most_common_zone_and_stores_ship_nothing():
    frame = signals([("p1", "A", 3, "purchase", "store", "ST1"), ("p2", "A", 2, "view")])
    zones = pl.DataFrame({"person_id": ["p1", "p3", "p4"], "zone": ["S", "N", "N"]})
    req = pl.DataFrame({"person_id": ["p2", "p2"], "channel": ["web", "ST1"]})
    recs = build(frame, {("A", "web"): 1, ("A", "ST1"): 2}, {("A", "N"): (7.0, 3)},
                 zones=zones, requests=req)
    row = {c: (cost, days) for c, cost, days in
           recs.select("channel", "fulfilment_cost", "delivery_days").rows()}
    assert row == {"web": (7.0, 3), "ST1": (0.0, 0)}


def test_a_person_without_signals_gets_the_popular_list_and_says_so():
    frame = signals([("p1", "A", 1, "purchase"), ("p2", "A", 1, "purchase"),
                     ("p3", "B", 1, "purchase")])
    recs = build(frame, {("A", "web"): 1, ("B", "web"): 1},
                 requests=pl.DataFrame({"person_id": ["new"], "channel": ["web"]}))
    assert recs["product_id"].to_list() == ["A", "B"]
    assert set(recs["reason"]) == {REASONS["cold"]}


def test_default_requests_are_every_person_with_signals_online():
    frame = signals([("p1", "A", 1, "view"), ("p2", "B", 1, "view")])
    recs = build(frame, {("A", "web"): 1, ("A", "app"): 1, ("A", "ST1"): 1})
    assert sorted(set(recs.select("person_id", "channel").rows())) == [
        ("p1", "app"), ("p1", "web"), ("p2", "app"), ("p2", "web")]


def test_channel_stock_sums_sellable_and_delivery_takes_the_cheapest_option():
    stock = channel_stock(availability({("A", "web"): 2, ("B", "web"): 0}))
    assert stock.rows() == [("web", "A", 2)]
    best = cheapest_delivery(fulfilment({("A", "N"): (9.0, 1)}).vstack(
        fulfilment({("A", "N"): (4.0, 3)})))
    assert best.rows() == [("A", "N", 4.0, 3)]
