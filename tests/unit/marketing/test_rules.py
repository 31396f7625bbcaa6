"""Rule-based models on hand-worked journeys, and the journey schema's errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from lakehouse.marketing import JourneyError, attribute, validate_journeys
from tests.unit.marketing.helpers import T0, credits, journeys

# j0: four touches converting for 100; j1: only direct; j2: one touch; j3: never converts;
# j4: two touches
PATHS = ("email > paid_search > display > direct > $100", "direct > direct > $",
         "paid_social > $", "email > display", "paid_search > email > $")


@pytest.fixture(scope="module")
def out() -> pl.DataFrame:
    return attribute(journeys(*PATHS), ["first_touch", "last_touch", "last_non_direct",
                                        "linear", "position_based"])


def test_rows_only_for_conversions(out: pl.DataFrame) -> None:
    part = out.filter(pl.col("model") == "linear")
    assert part["journey_id"].to_list() == ["j0"] * 4 + ["j1"] * 2 + ["j2"] + ["j4"] * 2
    assert part["touch_id"].to_list() == ["j0t0", "j0t1", "j0t2", "j0t3", "j1t0", "j1t1",
                                          "j2t0", "j4t0", "j4t1"]


def test_first_last_and_last_non_direct(out: pl.DataFrame) -> None:
    #                                  j0          j1      j2   j4
    assert credits(out, "first_touch") == [1, 0, 0, 0, 1, 0, 1, 1, 0]
    assert credits(out, "last_touch") == [0, 0, 0, 1, 0, 1, 1, 0, 1]
    # j0 skips its closing direct visit for display; j1 is all direct: its last touch
    assert credits(out, "last_non_direct") == [0, 0, 1, 0, 0, 1, 1, 0, 1]
    j0 = out.filter((pl.col("model") == "last_non_direct") & (pl.col("journey_id") == "j0"))
    assert j0["value"].to_list() == [0, 0, 100, 0]


def test_last_non_direct_with_other_direct_channels() -> None:
    out = attribute(journeys(*PATHS), "last_non_direct", direct_channels=("direct", "display"))
    assert credits(out, "last_non_direct") == [0, 1, 0, 0, 0, 1, 1, 0, 1]


def test_linear_and_position_based(out: pl.DataFrame) -> None:
    assert credits(out, "linear") == [0.25] * 4 + [0.5, 0.5, 1.0, 0.5, 0.5]
    # four touches: 0.4 / (0.2 split over two) / 0.4; two touches: 0.4 : 0.4 = halves
    assert credits(out, "position_based") == pytest.approx(
        [0.4, 0.1, 0.1, 0.4, 0.5, 0.5, 1.0, 0.5, 0.5], abs=1e-12)
    skewed = attribute(journeys(*PATHS), "position_based", first=0.3, last=0.5)
    # two touches share 0.3 : 0.5 = 0.375 : 0.625
    assert credits(skewed, "position_based") == pytest.approx(
        [0.3, 0.1, 0.1, 0.5, 0.375, 0.625, 1.0, 0.375, 0.625], abs=1e-12)
    with pytest.raises(ValueError, match="first \\+ last <= 1"):
        attribute(journeys(*PATHS), "position_based", first=0.7, last=0.5)


def test_time_decay_halves_per_half_life() -> None:
    # touches 14, 7 and 0 days before the last touch, conversion an hour later: with a 7-day
    # half-life the weights are 1/4, 1/2, 1, so the credits are 1/7, 2/7, 4/7
    conv = T0 + timedelta(days=14, hours=1)
    df = pl.DataFrame({
        "journey_id": ["j"] * 3, "touch_id": ["a", "b", "c"],
        "channel": ["display", "email", "paid_search"],
        "occurred_at": [T0, T0 + timedelta(days=7), T0 + timedelta(days=14)],
        "conversion_id": ["c"] * 3, "converted_at": [conv] * 3})
    assert credits(attribute(df, "time_decay"), "time_decay") == pytest.approx(
        [1 / 7, 2 / 7, 4 / 7], abs=1e-12)
    # a one-day half-life: 2**-14, 2**-7, 1
    weights = [2.0**-14, 2.0**-7, 1.0]
    assert credits(attribute(df, "time_decay", half_life_days=1.0), "time_decay") == (
        pytest.approx([w / sum(weights) for w in weights], abs=1e-12))
    # a touch years old neither underflows to 0/0 nor takes credit
    old = df.with_columns(occurred_at=pl.col("occurred_at") - timedelta(days=3650))
    assert credits(attribute(old, "time_decay", half_life_days=1.0), "time_decay") == (
        pytest.approx([w / sum(weights) for w in weights], abs=1e-12))


def test_ties_in_time_break_by_touch_id_not_row_order() -> None:
    df = pl.DataFrame({
        "journey_id": ["j", "j"], "touch_id": ["t-b", "t-a"], "channel": ["email", "direct"],
        "occurred_at": [T0, T0], "conversion_id": ["c", "c"],
        "converted_at": [T0, T0]})
    for frame in (df, df.reverse()):
        out = attribute(frame, "first_touch")
        assert out.select("touch_id", "credit").rows() == [("t-a", 1.0), ("t-b", 0.0)]


def test_time_zones_and_units_compare_as_instants() -> None:
    # 10:00 at +02:00 is 08:00 UTC, before a 09:00 UTC conversion stored in milliseconds
    df = pl.DataFrame({
        "journey_id": ["j"], "touch_id": ["t"], "channel": ["email"],
        "occurred_at": [datetime(2025, 3, 1, 10, tzinfo=timezone(timedelta(hours=2)))],
        "conversion_id": ["c"], "converted_at": [datetime(2025, 3, 1, 9)]},
        schema_overrides={"converted_at": pl.Datetime("ms")})
    validate_journeys(df.with_columns(pl.col("occurred_at").dt.convert_time_zone("Asia/Tokyo")))
    late = df.with_columns(converted_at=pl.lit(datetime(2025, 3, 1, 7), pl.Datetime("ms")))
    with pytest.raises(JourneyError, match="touch_id 't' of journey_id 'j' occurred at"):
        validate_journeys(late)


def _error(df: pl.DataFrame) -> str:
    with pytest.raises(JourneyError) as info:
        validate_journeys(df)
    return str(info.value)


def test_validate_names_the_column_journey_and_touch() -> None:
    df = journeys("email > direct > $", "display")
    assert "converted_at" in _error(df.drop("converted_at"))
    assert "'occurred_at' must be a datetime" in _error(
        df.with_columns(pl.col("occurred_at").cast(pl.String)))
    msg = _error(df.with_columns(
        occurred_at=pl.when(pl.col("touch_id") == "j0t1")
        .then(pl.col("converted_at") + timedelta(minutes=1)).otherwise("occurred_at")))
    assert "touch_id 'j0t1' of journey_id 'j0'" in msg and "after its conversion 'c0'" in msg
    msg = _error(df.with_columns(
        conversion_id=pl.when(pl.col("touch_id") == "j0t1").then(pl.lit("c9"))
        .otherwise("conversion_id")))
    assert "journey_id 'j0' carries more than one conversion_id" in msg and "'c9'" in msg
    msg = _error(df.with_columns(touch_id=pl.when(pl.col("touch_id") == "j1t0")
                                 .then(pl.lit("j0t0")).otherwise("touch_id")))
    assert "touch_id 'j0t0' appears more than once" in msg and "'j0', 'j1'" in msg
    msg = _error(df.with_columns(channel=pl.when(pl.col("touch_id") == "j0t1")
                                 .then(None).otherwise("channel")))
    assert "'channel' is null for touch_id 'j0t1' (journey_id 'j0')" in msg
    shared = journeys("email > $", "display > $").with_columns(conversion_id=pl.lit("c0"))
    assert "conversion_id 'c0' ends journeys ['j0', 'j1']" in _error(shared)
    assert "conversion_value" in _error(df.with_columns(conversion_value=pl.lit(-1.0)))
    validate_journeys(df)


def test_keep_must_name_an_input_column_that_shadows_no_output() -> None:
    df = journeys("email > $")
    with pytest.raises(JourneyError, match=r"keep names column\(s\) \['campaign_id'\]"):
        attribute(df, "linear", keep=("campaign_id",))
    with pytest.raises(JourneyError, match="would shadow output columns"):
        attribute(df, "linear", keep=("value",))
