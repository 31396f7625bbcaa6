"""RFM scores: quintiles among buyers, ties and row order, no purchase, the segment grid."""

from __future__ import annotations

import polars as pl

from lakehouse.segments.rfm import (
    NO_PURCHASE,
    SEGMENT_GRID,
    SEGMENTS,
    rfm_scores,
    segment_name,
)


def frame(recency, frequency, monetary) -> pl.DataFrame:
    n = len(frequency)
    return pl.DataFrame({"person_id": [f"P{i:02d}" for i in range(n)],
                         "recency_days": recency, "frequency": frequency,
                         "monetary": monetary},
                        schema={"person_id": pl.String, "recency_days": pl.Float64,
                                "frequency": pl.Int64, "monetary": pl.Float64})


def test_distinct_values_fall_in_equal_quintiles_best_scoring_five():
    ten = list(range(1, 11))
    scored = rfm_scores(frame([float(v) for v in ten], ten, [float(v) for v in ten]))
    assert scored["f_score"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scored["m_score"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # a short recency is good: the most recent buyers score 5
    assert scored["r_score"].to_list() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scored["rfm_score"][0] == "511"


def test_tied_values_share_a_score_whatever_the_row_order():
    freq = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5]
    base = frame([1.0] * 10, freq, [10.0] * 10)
    scored = rfm_scores(base)
    # 2 beats six buyers: 1 + floor(5 * 6 / 10) = 4
    assert scored["f_score"].to_list() == [1] * 6 + [4, 4, 5, 5]
    # every buyer tied on recency and spend: all beat nobody
    assert set(scored["r_score"]) == {1} and set(scored["m_score"]) == {1}
    shuffled = rfm_scores(base.sample(fraction=1.0, shuffle=True, seed=3))
    assert shuffled.sort("person_id").equals(scored.sort("person_id"))


def test_persons_without_a_purchase_score_zero_and_do_not_shift_buyers():
    buyers = frame([1.0, 2.0, 3.0, 4.0, 5.0], [5, 4, 3, 2, 1], [50.0, 40, 30, 20, 10])
    with_prospects = pl.concat([buyers, frame([None, None], [0, 0], [0.0, 0.0])
                                .with_columns(pl.Series("person_id", ["Q1", "Q2"]))])
    scored = rfm_scores(with_prospects)
    prospects = scored.filter(pl.col("frequency") == 0)
    assert prospects["rfm_score"].to_list() == ["000", "000"]
    assert set(prospects["rfm_segment"]) == {NO_PURCHASE}
    assert scored.head(5).equals(rfm_scores(buyers))


def test_grid_names_every_score_with_the_classic_segments():
    cells = {segment_name(r, f, m) for r in range(1, 6) for f in range(1, 6)
             for m in range(1, 6)}
    assert cells == set(SEGMENTS)
    assert len(SEGMENT_GRID) == 5 and all(len(row) == 5 for row in SEGMENT_GRID)
    assert segment_name(5, 5, 5) == "Champions"
    assert segment_name(5, 1, 1) == "New"
    assert segment_name(1, 1, 1) == "Lost"
    assert segment_name(1, 5, 5) == "Cannot lose them"
    assert segment_name(2, 4, 3) == "At risk"  # FM = round-half-up((4 + 3) / 2) = 4
    assert segment_name(0, 0, 0) == NO_PURCHASE


def test_every_scored_row_gets_its_grid_segment():
    scored = rfm_scores(frame([float(v) for v in range(20)], list(range(20, 0, -1)),
                              [float(v % 7) for v in range(20)]))
    for r, f, m, seg in scored.select("r_score", "f_score", "m_score", "rfm_segment").rows():
        assert seg == segment_name(r, f, m)
