"""Markov removal effects: hand-solved chains, and DP6's published implementation (``mam``,
marketing-attribution-models 2.1.1) as a cross-check on random journeys."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from mam.models.markov import MarkovModel

from lakehouse.marketing import attribute, markov_removal_effects
from tests.unit.marketing.helpers import credits, journeys, mam_journeys, random_paths

# a > b converts, a alone does not, b converts once and fails once:
#   start -> a 2/4, start -> b 2/4; a -> b 1/2, a -> null 1/2; b -> conv 2/3, b -> null 1/3
#   P(conv)            = 1/2 * (1/2 * 2/3) + 1/2 * 2/3 = 1/6 + 1/3 = 1/2
#   without a: start -> a goes to null: 1/2 * 2/3 = 1/3   -> removal effect 1 - (1/3)/(1/2) = 1/3
#   without b: nothing reaches conversion: 0               -> removal effect 1
#   shares 1/4, 3/4; the a > b conversion gives a 1/4, b 3/4
FIRST_ORDER = ("a > b > $", "a", "b > $", "b")


def test_first_order_removal_effects_by_hand() -> None:
    effects = markov_removal_effects(journeys(*FIRST_ORDER))
    assert effects["channel"].to_list() == ["a", "b"]
    assert effects["removal_effect"].to_list() == pytest.approx([1 / 3, 1.0], abs=1e-12)
    assert effects["share"].to_list() == pytest.approx([0.25, 0.75], abs=1e-12)
    out = attribute(journeys(*FIRST_ORDER), "markov")
    assert out.select("touch_id", "credit").rows() == [
        ("j0t0", pytest.approx(0.25)), ("j0t1", pytest.approx(0.75)), ("j2t0", 1.0)]


def test_repeats_collapse_and_a_channel_splits_over_its_touches() -> None:
    # a > a > b is the same chain once collapsed; a's 1/4 is split over its two touches.
    # Kept (collapse_repeats=False) the repeat is an a -> a self-loop, which changes no
    # absorption probability at order 1: the same effects.
    paths = ("a > a > b > $", *FIRST_ORDER[1:])
    for collapse in (True, False):
        effects = markov_removal_effects(journeys(*paths), collapse_repeats=collapse)
        assert effects["removal_effect"].to_list() == pytest.approx([1 / 3, 1.0], abs=1e-12)
        out = attribute(journeys(*paths), "markov", collapse_repeats=collapse)
        assert credits(out, "markov") == pytest.approx([0.125, 0.125, 0.75, 1.0], abs=1e-12)


def test_second_order_removal_effects_by_hand() -> None:
    # order 2, states are windows of two channels (a path shorter than 2 is one state):
    #   a > b > c converts:  start -> ab -> bc -> conv
    #   a > b fails:         start -> ab -> null
    #   c converts:          start -> c -> conv
    #   b > c fails:         start -> bc -> null
    # start -> ab 1/2, c 1/4, bc 1/4; ab -> bc 1/2, null 1/2; bc -> conv 1/2; c -> conv 1
    #   P(conv)    = 1/2 * 1/2 * 1/2 + 1/4 * 1 + 1/4 * 1/2 = 1/2
    #   without a (ab):     1/4 + 1/8 = 3/8  -> 1 - 3/4 = 1/4
    #   without b (ab, bc): 1/4              -> 1/2
    #   without c (bc, c):  0                -> 1
    df = journeys("a > b > c > $", "a > b", "c > $", "b > c")
    effects = markov_removal_effects(df, order=2)
    assert effects["removal_effect"].to_list() == pytest.approx([0.25, 0.5, 1.0], abs=1e-12)
    # a > b > c: weights 1/4, 1/2, 1 over 7/4
    assert credits(attribute(df, "markov", order=2), "markov") == pytest.approx(
        [1 / 7, 2 / 7, 4 / 7, 1.0], abs=1e-12)
    # order 1 sees other states: a -> b always, so a's removal only loses what b would convert
    assert markov_removal_effects(df, order=1)["removal_effect"].to_list() != pytest.approx(
        effects["removal_effect"].to_list())


def test_no_conversions_means_no_effect() -> None:
    effects = markov_removal_effects(journeys("a > b", "b"))
    assert effects["removal_effect"].to_list() == [0.0, 0.0]
    assert effects["share"].to_list() == [0.0, 0.0]
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        markov_removal_effects(journeys("a > $"), order=0)


def _mam_markov(paths: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """MAM's removal effects and normalised weights, and its per-journey raw credits."""
    unified = mam_journeys(paths)
    model = MarkovModel(transition_to_same_state=False)
    raw = model.calculate(unified)
    weights = raw.select(pl.col("channels").alias("channel"), "weight_val").unique()
    effects = pl.DataFrame({
        "channel": [str(c) for c in model.removal_effect_df.index],
        "removal_effect": model.removal_effect_df["removal_effect"].to_numpy()})
    return effects.join(weights, on="channel").sort("channel"), raw


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_removal_effects_and_shares_match_mam(seed: int) -> None:
    paths = random_paths(seed, 3000, channels="abcdefg", max_len=8, lift=0.1)
    ours = markov_removal_effects(journeys(*paths))
    theirs, raw = _mam_markov(paths)
    assert ours["channel"].to_list() == theirs["channel"].to_list()
    np.testing.assert_allclose(ours["removal_effect"], theirs["removal_effect"], rtol=0,
                               atol=1e-9)
    np.testing.assert_allclose(ours["share"], theirs["weight_val"], rtol=0, atol=1e-9)
    # per conversion: where no channel repeats in a journey, MAM's normalised weight per touch
    # is our credit (with repeats MAM weighs a channel once per touch, we once per channel)
    single = [i for i, p in enumerate(paths) if p.endswith("$")
              and len(set(p.split(" > "))) == len(p.split(" > "))]
    mam = (raw.filter(pl.col("journey_id").is_in([f"j{i}" for i in single]))
           .sort("journey_id", maintain_order=True)["norm_weight"])
    out = attribute(journeys(*paths), "markov").filter(
        pl.col("journey_id").is_in([f"j{i}" for i in single])).sort("journey_id",
                                                                    maintain_order=True)
    np.testing.assert_allclose(out["credit"], mam, rtol=0, atol=1e-9)
