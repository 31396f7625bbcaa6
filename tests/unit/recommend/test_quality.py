"""Quality scores: Bayesian shrinkage of ratings and return rates towards the catalogue mean."""

from __future__ import annotations

import polars as pl
import pytest

from lakehouse.recommend.quality import quality_scores


def frame(rows, col):
    return pl.DataFrame(rows, schema={"product_id": pl.String, col: pl.Int64}, orient="row")


def test_few_reviews_stay_near_the_mean_many_move_away():
    reviews = frame([("A", 5)] * 2 + [("B", 5)] * 200 + [("C", 1)] * 200, "rating")
    sales = frame([("A", 10), ("B", 10), ("C", 10)], "quantity")
    q = quality_scores(["A", "B", "C", "D"], reviews, frame([], "quantity"), sales, prior=10)
    rating = dict(q.select("product_id", "rating").rows())
    mean = (2 * 5 + 200 * 5 + 200) / 402
    assert rating["D"] == pytest.approx(mean)  # no reviews: the catalogue mean
    assert abs(rating["A"] - mean) < abs(rating["B"] - mean)  # 2 fives < 200 fives
    assert rating["B"] > rating["A"] > rating["D"] > rating["C"]
    assert q["quality"].is_between(0, 1).all()


def test_returns_lower_quality_in_proportion_to_evidence():
    sales = frame([("A", 100), ("B", 100), ("C", 2)], "quantity")
    returns = frame([("A", 50), ("C", 1)], "quantity")
    q = quality_scores(["A", "B", "C"], frame([], "rating"), returns, sales, prior=10)
    rate = dict(q.select("product_id", "return_rate").rows())
    base = 51 / 202
    assert rate["A"] == pytest.approx((50 + 10 * base) / 110)
    assert rate["C"] == pytest.approx((1 + 10 * base) / 12)  # 1 of 2 is mostly the prior
    quality = dict(q.select("product_id", "quality").rows())
    assert quality["B"] > quality["C"] > quality["A"]
