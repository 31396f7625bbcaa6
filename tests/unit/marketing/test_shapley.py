"""Shapley values of the conversion-rate game: hand-solved games, the two fills for unseen
coalitions, and DP6's published implementation (``mam``) as a cross-check."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from mam.models.shapley import ShapleyModel

from lakehouse.marketing import attribute, shapley_values
from tests.unit.marketing.helpers import credits, journeys, mam_journeys, random_paths


def test_two_channels_by_hand() -> None:
    # {a}: 4 journeys, 2 convert -> v(a) = 1/2; {b}: 4 journeys, 1 converts -> v(b) = 1/4;
    # {a, b}: 2 journeys, both convert -> v(ab) = 1
    #   phi_a = 1/2 (v(a) - 0) + 1/2 (v(ab) - v(b)) = 1/4 + 3/8 = 5/8
    #   phi_b = 1/2 (v(b) - 0) + 1/2 (v(ab) - v(a)) = 1/8 + 1/4 = 3/8   (sum = v(ab) = 1)
    # (c never converts: it shows with value 0 and does not enter the {a, b} game)
    paths = ["a > $"] * 2 + ["a"] * 2 + ["b > $"] + ["b"] * 3 + ["a > b > a > $", "b > a > $",
                                                                 "c > a"]
    df = journeys(*paths)
    out = attribute(df, "shapley").filter(pl.col("journey_id").is_in(["j8", "j9"]))
    # j8: a's 5/8 split over its two touches
    assert out.select("touch_id", "credit").rows() == [
        ("j8t0", pytest.approx(5 / 16)), ("j8t1", pytest.approx(3 / 8)),
        ("j8t2", pytest.approx(5 / 16)), ("j9t0", pytest.approx(3 / 8)),
        ("j9t1", pytest.approx(5 / 8))]
    # a: 2 own conversions + 2 * 5/8; b: 1 + 2 * 3/8; of 5 conversions
    values = shapley_values(df)
    assert values["channel"].to_list() == ["a", "b", "c"]
    assert values["value"].to_list() == pytest.approx([3.25, 1.75, 0.0], abs=1e-12)
    assert values["share"].to_list() == pytest.approx([0.65, 0.35, 0.0], abs=1e-12)


# {a}: v = 1/2, {b}: v = 1/4, {a, b, c}: v = 1; {a, b}, {a, c}, {b, c}, {c} never observed.
# Coalition weights for n = 3 by size of the coalition joined: 0 -> 1/3, 1 -> 1/6, 2 -> 1/3.
UNSEEN = ("a > $", "a", "b > $", "b", "b", "b", "a > b > c > $")


def test_missing_zero_by_hand() -> None:
    # unseen = 0: phi_a = 1/3 * 1/2 + 1/6 (0 - 1/4) + 1/6 (0 - 0) + 1/3 (1 - 0) = 11/24
    #             phi_b = 1/3 * 1/4 + 1/6 (0 - 1/2) + 0 + 1/3 (1 - 0)          =  8/24
    #             phi_c = 0 + 1/6 (0 - 1/2) + 1/6 (0 - 1/4) + 1/3 (1 - 0)      =  5/24
    out = attribute(journeys(*UNSEEN), "shapley", missing="zero")
    assert credits(out, "shapley")[-3:] == pytest.approx([11 / 24, 8 / 24, 5 / 24], abs=1e-12)


def test_missing_max_subset_by_hand() -> None:
    # unseen = best observed subset: v(ab) = v(ac) = 1/2, v(bc) = 1/4, v(c) = 0
    #   phi_a = 1/3 * 1/2 + 1/6 (1/2 - 1/4) + 1/6 (1/2 - 0) + 1/3 (1 - 1/4) = 13/24
    #   phi_b = 1/3 * 1/4 + 1/6 (1/2 - 1/2) + 1/6 (1/4 - 0) + 1/3 (1 - 1/2) =  7/24
    #   phi_c = 0 + 1/6 (1/2 - 1/2) + 1/6 (1/4 - 1/4) + 1/3 (1 - 1/2)       =  4/24
    out = attribute(journeys(*UNSEEN), "shapley")  # the default
    assert credits(out, "shapley")[-3:] == pytest.approx([13 / 24, 7 / 24, 4 / 24], abs=1e-12)


def test_negative_marginal_is_clipped() -> None:
    # v(a) = 1, v(ab) = 1/2: phi_a = 1/2 + 1/2 (1/2 - 0) = 3/4, phi_b = 0 + 1/2 (1/2 - 1) = -1/4
    # b lowers the rate: it gets 0, not a negative share, and a gets the whole conversion
    out = attribute(journeys("a > $", "a > b > $", "a > b"), "shapley")
    assert credits(out, "shapley") == [1.0, 1.0, 0.0]


def test_max_channels() -> None:
    df = journeys("a > b > c > $", "a > b > c > d")
    with pytest.raises(ValueError, match="journey_id 'j0' converts through 3 distinct channels"):
        attribute(df, "shapley", max_channels=2)
    # a non-converting journey of any size only lends its rate
    assert credits(attribute(df, "shapley", max_channels=3), "shapley") == pytest.approx(
        [1 / 3] * 3)
    with pytest.raises(ValueError, match="missing must be one of"):
        shapley_values(df, missing="mean")


def _mam_shapley(paths: list[str], max_size: int) -> tuple[dict[frozenset, dict], pl.DataFrame]:
    """MAM's per channel-set weights (``phi * journeys`` normalised to the set's conversions)
    and its per-channel attribution."""
    unified = mam_journeys(paths)
    model = ShapleyModel(max_size=max_size, value_column="conv_rate")
    totals = model.get_aggregated_results(unified)
    per_set = {}
    for combo, weights in model.conv_table.select("combinations", model.model_name).rows():
        names = combo.split(" > ")
        per_set[frozenset(names)] = dict(zip(names, weights, strict=True))
    return per_set, totals.sort("channels")


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_per_set_credits_match_mam_clipped(seed: int) -> None:
    # any data: MAM's weights, clipped at 0 and renormalised, are our credits for every set
    paths = random_paths(seed, 1500, channels="abcde", max_len=5, lift=0.1)
    per_set, _ = _mam_shapley(paths, max_size=5)
    out = attribute(journeys(*paths), "shapley", missing="zero")
    got = out.group_by("journey_id", "channel").agg(pl.col("credit").sum())
    checked = negative = 0
    for journey, rows in got.group_by("journey_id"):
        mam = per_set[frozenset(rows["channel"])]
        clipped = {c: max(w, 0.0) for c, w in mam.items()}
        negative += min(mam.values()) < 0
        total = sum(clipped.values())
        for channel, credit in rows.select("channel", "credit").rows():
            assert credit == pytest.approx(clipped[channel] / total, abs=1e-9), journey
        checked += 1
    assert checked == out["conversion_id"].n_unique()
    if seed == 0:
        assert negative  # the clipping is exercised


def test_shares_match_mam() -> None:
    # many journeys over 4 channels, each channel raising the rate: every phi is positive, and
    # the shares (and attributed conversions) equal MAM's
    paths = random_paths(7, 20000, channels="abcd", max_len=4, lift=0.2)
    per_set, totals = _mam_shapley(paths, max_size=4)
    assert min(w for weights in per_set.values() for w in weights.values()) > 0
    ours = shapley_values(journeys(*paths), missing="zero")
    assert ours["channel"].to_list() == totals["channels"].cast(pl.String).to_list()
    np.testing.assert_allclose(ours["value"], totals["attribution"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours["share"], totals["attribution"] / totals["attribution"].sum(),
                               rtol=0, atol=1e-9)
