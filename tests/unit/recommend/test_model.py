"""Relevance models on tiny frames: weights, decay, co-occurrence, the implicit wrappers."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from lakehouse.recommend.model import (
    MODELS,
    interaction_matrix,
    make_model,
    positions,
    purchase_popularity,
)
from tests.unit.recommend.frames import T0, signals


def test_matrix_weighs_kinds_and_decays_with_age():
    m = interaction_matrix(signals([("p1", "A", 1, "purchase"), ("p1", "B", 1, "view"),
                                    ("p1", "C", 15, "purchase"), ("p2", "A", 2, "cart")]),
                           T0)
    row = dict(zip(m.products, m.values[m.rows(["p1"])[0]].toarray().ravel(), strict=True))
    assert row["A"] > row["B"] > 0  # a purchase outweighs a view of the same day
    assert row["C"] == pytest.approx(row["A"] / 2)  # one half-life older: half the weight
    assert m.rows(["nobody"]).tolist() == [-1]


def test_signals_at_or_after_as_of_are_ignored():
    m = interaction_matrix(signals([("p1", "A", 2, "view"), ("p2", "B", -1, "purchase")]), T0)
    assert m.persons == ["p1"] and m.products == ["A"]


def test_cooccurrence_recommends_what_others_bought_with_it():
    # p1 and p2 bought A and B together; p3 bought only A: B is p3's best unseen product
    frame = signals([("p1", "A", 3, "purchase"), ("p1", "B", 3, "purchase"),
                     ("p2", "A", 3, "purchase"), ("p2", "B", 3, "purchase"),
                     ("p3", "A", 3, "purchase"), ("p4", "C", 3, "purchase"),
                     ("p5", "C", 3, "purchase"), ("p6", "C", 3, "purchase")])
    m = interaction_matrix(frame, T0)
    pop = purchase_popularity(frame, T0, m.products)
    scores = make_model("cooccurrence").fit(m, pop).scores(m.rows(["p3"]))[0]
    col = {p: i for i, p in enumerate(m.products)}
    assert scores[col["B"]] > scores[col["C"]]  # C is more popular but never bought with A
    popular = make_model("popularity").fit(m, pop).scores(m.rows(["p3", "p1"]))
    assert popular[0, col["C"]] > popular[0, col["B"]]
    assert np.array_equal(popular[0], popular[1])  # one list for everyone


@pytest.mark.parametrize("name", [m for m in MODELS if m not in ("popularity",)])
def test_every_model_scores_every_product_and_zero_for_unknown_persons(name):
    frame = signals([(f"p{i}", f"X{(i + j) % 6}", j, "purchase")
                     for i in range(12) for j in range(3)])
    m = interaction_matrix(frame, T0)
    model = make_model(name).fit(m, purchase_popularity(frame, T0, m.products))
    scores = model.scores(m.rows(["p0", "nobody"]))
    assert scores.shape == (2, len(m.products)) and np.isfinite(scores).all()
    assert scores[0].max() > 0
    if name != "hybrid":  # hybrid adds popularity, which an unknown person still gets
        assert not scores[1].any()


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model 'svd'"):
        make_model("svd")


def test_positions_are_label_indices_and_minus_one_for_the_unknown():
    labels = ["p3", "p1", "p2"]  # any order: an index is a position in the labels
    assert positions(["p1", "x", "p3", "p1"], labels).tolist() == [1, -1, 0, 1]
    assert positions(pl.Series(["p2", None]), labels).tolist() == [2, -1]
    assert positions([], labels).tolist() == [] and positions(["p1"], []).tolist() == [-1]
    with pytest.raises(pl.exceptions.InvalidOperationError):  # a label twice has no index
        positions(["p1"], ["p1", "p1"])
