"""Clustering probabilistic links under cannot-link constraints (``constrained_links``)."""

from __future__ import annotations

import numpy as np
import polars as pl

from lakehouse.identity.clustering import constrained_links

# Three records: 1 has no date of birth and could be 0's or 2's; 0 and 2 are two people
# (other first names, birth dates decades apart). Links 0-1 and 1-2 score the same.
RECORDS = pl.DataFrame({
    "_fnc": ["ann", "a", "amy"],
    "_ln": ["lee", "lee", "lee"],
    "_dob": ["1960-02-03", None, "1994-11-20"],
    "login_id": [None, None, None],
}, schema={"_fnc": pl.String, "_ln": pl.String, "_dob": pl.String, "login_id": pl.String})


def _pairs(rows: list[tuple[int, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"a": pl.Int64, "b": pl.Int64,
                                      "match_probability": pl.Float64}, orient="row")


def test_links_of_equal_probability_are_judged_in_record_order_whatever_their_order() -> None:
    labels = np.arange(3)
    forward = _pairs([(0, 1, 0.9), (1, 2, 0.9)])
    for pairs in (forward, forward.reverse()):
        kept, refused = constrained_links(labels, RECORDS, pairs)
        assert kept.select("a", "b").rows() == [(0, 1)]
        assert refused == 1


def test_the_stronger_link_wins_over_record_order() -> None:
    kept, refused = constrained_links(np.arange(3), RECORDS,
                                      _pairs([(0, 1, 0.8), (1, 2, 0.95)]))
    assert kept.select("a", "b").rows() == [(1, 2)]
    assert refused == 1
