"""``attribute``: the output contract, the dispatcher, ``channel_shares`` and the properties
every model keeps on random journeys."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from lakehouse.marketing import MODELS, attribute, channel_shares
from tests.unit.marketing.helpers import T0, journeys, random_paths


def test_output_columns_kept_columns_and_value() -> None:
    df = journeys("email > direct > $250", "email").with_columns(
        campaign_id=pl.format("cmp-{}", pl.col("touch_id")))
    out = attribute(df, "linear", keep=("campaign_id",))
    assert out.columns == ["conversion_id", "journey_id", "touch_id", "channel", "campaign_id",
                           "model", "credit", "value"]
    assert out.schema["credit"] == pl.Float64
    assert out.rows() == [("c0", "j0", "j0t0", "email", "cmp-j0t0", "linear", 0.5, 125.0),
                          ("c0", "j0", "j0t1", "direct", "cmp-j0t1", "linear", 0.5, 125.0)]


def test_conversion_value_defaults_to_one_and_lazy_input() -> None:
    df = journeys("email > direct > $").drop("conversion_value").lazy()
    assert attribute(df, "last_touch")["value"].to_list() == [0.0, 1.0]


def test_all_stacks_every_model_in_order_and_equals_single_calls() -> None:
    df = journeys(*random_paths(1, 300))
    out = attribute(df, "all", half_life_days=2.0, order=2, missing="zero")
    assert out["model"].unique(maintain_order=True).to_list() == list(MODELS)
    params = {"time_decay": {"half_life_days": 2.0}, "markov": {"order": 2},
              "shapley": {"missing": "zero"}}
    for m in MODELS:
        assert_frame_equal(out.filter(pl.col("model") == m), attribute(df, m, **params.get(m, {})))
    assert_frame_equal(attribute(df, ["shapley", "linear", "shapley"]),
                       pl.concat([attribute(df, "shapley"), attribute(df, "linear")]))


def test_unknown_model_and_parameter() -> None:
    df = journeys("email > $")
    with pytest.raises(ValueError, match="unknown model"):
        attribute(df, "u_shaped")
    with pytest.raises(TypeError, match="half_life_days"):
        attribute(df, "linear", half_life_days=3.0)
    with pytest.raises(ValueError, match="half_life_days must be > 0"):
        attribute(df, "time_decay", half_life_days=0)


def test_channel_shares() -> None:
    df = journeys("email > direct > $10", "email > $30", "direct")
    shares = channel_shares(attribute(df, ["first_touch", "linear"]))
    assert shares.rows() == [("first_touch", "direct", 0.0, 0.0, 0.0),
                             ("first_touch", "email", 2.0, 40.0, 1.0),
                             ("linear", "direct", 0.5, 5.0, 0.25),
                             ("linear", "email", 1.5, 35.0, 0.75)]


@st.composite
def touch_frames(draw: st.DrawFn) -> pl.DataFrame:
    """Random journeys with repeated channels, equal timestamps (ties) and touch ids whose
    order disagrees with input order."""
    rows = []
    for j in range(draw(st.integers(1, 8))):
        hours = sorted(draw(st.lists(st.integers(0, 4), min_size=1, max_size=6)))
        converts = draw(st.booleans())
        value = draw(st.floats(0, 500)) if converts else None
        for k, h in enumerate(hours):
            rows.append((f"j{j}", f"t{draw(st.integers(0, 9))}-{j}-{k}",
                         draw(st.sampled_from(["direct", "email", "display", "search"])),
                         T0 + timedelta(hours=h), f"c{j}" if converts else None,
                         T0 + timedelta(hours=5) if converts else None, value))
    return pl.DataFrame(rows, orient="row", schema={
        "journey_id": pl.String, "touch_id": pl.String, "channel": pl.String,
        "occurred_at": pl.Datetime("us"), "conversion_id": pl.String,
        "converted_at": pl.Datetime("us"), "conversion_value": pl.Float64})


@settings(max_examples=60, deadline=None)
@given(df=touch_frames(), seed=st.integers(0, 2**32 - 1), order=st.integers(1, 3))
def test_every_model_credits_each_conversion_fully_and_ignores_row_order(
        df: pl.DataFrame, seed: int, order: int) -> None:
    out = attribute(df, "all", order=order)
    assert (out["credit"] >= 0).all()
    converting = df.filter(pl.col("conversion_id").is_not_null())
    for m in MODELS:
        part = out.filter(pl.col("model") == m)
        assert sorted(part["touch_id"]) == sorted(converting["touch_id"])  # no other journey
        sums = part.group_by("conversion_id").agg(pl.col("credit").sum())
        assert set(sums["conversion_id"]) == set(converting["conversion_id"])
        assert np.allclose(sums["credit"].to_numpy(), 1.0, rtol=0, atol=1e-9)
    assert_frame_equal(attribute(df.sample(fraction=1.0, shuffle=True, seed=seed), "all",
                                 order=order), out, check_exact=True)
