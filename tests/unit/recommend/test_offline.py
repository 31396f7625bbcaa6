"""Offline evaluation on tiny frames: the split, the metrics, and the stock check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from lakehouse.recommend.offline import default_cutoff, evaluate, held_out, score
from tests.unit.recommend.frames import T0, availability, fulfilment, quality, signals

PRODUCTS = list("ABCDEFGH")


def world() -> pl.DataFrame:
    """Persons x0..x5 browse A and buy B, y0..y5 browse C and buy D before T0; everyone else
    buys the popular E, F, G, H. After T0, x persons buy A and y persons buy C (in a store)."""
    rows = []
    for g, (seen, bought) in {"x": ("A", "B"), "y": ("C", "D")}.items():
        for i in range(6):
            rows += [(f"{g}{i}", seen, 3, "view"), (f"{g}{i}", bought, 3, "purchase")]
    rows += [(f"o{i}", p, 2, "purchase") for i in range(30) for p in "EFGH"]
    rows += [(f"x{i}", "A", -2, "purchase") for i in range(6)]
    rows += [(f"y{i}", "C", -2, "purchase", "store", "ST1") for i in range(6)]
    rows += [("newcomer", "E", -1, "purchase")]  # no signal before T0: not a test person
    return signals(rows)


def test_held_out_persons_their_channel_and_purchases():
    test = held_out(world(), T0)
    assert test.height == 12 and "newcomer" not in test["person_id"]
    assert dict(test.select("person_id", "channel").rows())["y0"] == "ST1"
    assert test.filter(pl.col("person_id") == "x0")["bought"].to_list() == [["A"]]


def test_score_is_hit_rate_and_recall():
    test = pl.DataFrame({"person_id": ["a", "b"], "bought": [["P", "Q"], ["R"]]})
    recs = pl.DataFrame({"person_id": ["a", "a", "b"], "rank": [1, 2, 1],
                         "product_id": ["P", "Z", "Y"]})
    assert score(recs, test, 2) == {"hit_rate": 0.5, "recall": 0.25}
    assert score(recs, test, 1) == {"hit_rate": 0.5, "recall": 0.25}


def test_personal_model_beats_popularity_and_nothing_unavailable_is_recommended():
    units = {(p, c): 3 for p in PRODUCTS for c in ("web", "app", "ST1")}
    units[("E", "web")] = 0  # the most popular product is sold out online
    frames = {"interactions": world(), "availability": availability(units),
              "fulfilment": fulfilment({(p, "N"): (5.0, 2) for p in PRODUCTS}),
              "quality": quality(dict.fromkeys(PRODUCTS, 0.7))}
    out = evaluate(frames, cutoff=T0, k=2, models=("cooccurrence", "hybrid", "popularity"))
    assert out["test_persons"] == 12 and out["unavailable"] == 0
    assert out["models"]["cooccurrence"]["hit_rate"] == pytest.approx(1.0)
    assert out["popularity"]["hit_rate"] == pytest.approx(0.0)  # A and C are never popular
    assert out["cutoff"] == T0.isoformat()


def test_default_cutoff_holds_out_two_weeks_or_half_a_short_history():
    long = world().vstack(signals([("old", "A", 40, "view")]))
    assert default_cutoff(long.with_columns(pl.col("event_time") + timedelta(days=12))) == (
        datetime(2026, 3, 1, tzinfo=UTC))  # last signal Mar 15, minus 14 days
    assert default_cutoff(world()) == datetime(2026, 2, 28, tzinfo=UTC)  # Feb 26 - Mar 3
