"""RFM scores (recency, frequency, monetary quintiles 1-5) and the classic RFM segment names.

Scores rank a person among the *buyers* of the same frame (persons with at least one order or
till purchase), so they say "better than 80% of our buyers", whatever the currency or season:

    score = 1 + floor(5 * share of buyers strictly worse than this person)   (capped at 5)

"Worse" is a longer recency, a lower frequency, a lower spend. Tied values share one score
(the score of their lowest rank), so the result depends on the set of values only, never on
row order or on a tie-break id; a big tie (most buyers ordered once) keeps its score low
instead of being spread over several quintiles by chance.

A person who never bought has no recency to rank: scores 0, ``rfm_score`` "000", segment
``NO_PURCHASE`` ("Prospects"): the classic grid has no cell for them, and calling them "Lost"
would send win-back offers to people who were never won.

Segments come from R and FM, where FM = round-half-up((F + M) / 2): the usual reading of the
RFM grid, in which frequency and spend together say how much a customer is worth and recency
says whether they are still here. ``SEGMENT_GRID[r][fm]`` below is that mapping (rows R 1-5,
columns FM 1-5).
"""

from __future__ import annotations

import polars as pl

NO_PURCHASE = "Prospects"
SEGMENTS = ("Champions", "Loyal", "Potential loyalists", "New", "Promising", "Need attention",
            "About to sleep", "At risk", "Cannot lose them", "Hibernating", "Lost")

_C, _L, _P, _N, _PR, _NA, _AS, _AR, _CL, _H, _LO = SEGMENTS
# SEGMENT_GRID[r - 1][fm - 1]
SEGMENT_GRID: tuple[tuple[str, ...], ...] = (
    (_LO, _LO, _AR, _AR, _CL),  # R 1: gone for longest; big past value "cannot lose them"
    (_H, _H, _AR, _AR, _CL),    # R 2
    (_AS, _AS, _NA, _L, _L),    # R 3
    (_PR, _P, _P, _L, _C),      # R 4
    (_N, _P, _P, _C, _C),       # R 5: bought most recently; first-timers are "new"
)


def segment_name(r: int, f: int, m: int) -> str:
    """The segment of scores (r, f, m); any zero score means no purchase."""
    if min(r, f, m) < 1:
        return NO_PURCHASE
    return SEGMENT_GRID[r - 1][(f + m + 1) // 2 - 1]


def quintile_score(values: pl.Expr, buyer: pl.Expr, higher_is_better: bool = True) -> pl.Expr:
    """1-5 among the rows where ``buyer`` holds (0 elsewhere): 1 + floor(5 * share of buyers
    strictly worse), ties sharing their lowest rank's score."""
    key = values if higher_is_better else -values
    ranked = pl.when(buyer).then(key)
    worse = ranked.rank(method="min") - 1  # buyers strictly worse (ties: same rank)
    buyers = buyer.sum()
    score = (1 + (5 * worse / buyers).floor()).clip(upper_bound=5)
    return pl.when(buyer).then(score).otherwise(0).cast(pl.Int8)


def rfm_scores(features: pl.DataFrame) -> pl.DataFrame:
    """``person_id, recency_days, frequency, monetary`` plus ``r_score, f_score, m_score``
    (Int8, 0 for no purchase), ``rfm_score`` ("543") and ``rfm_segment``."""
    buyer = (pl.col("frequency").fill_null(0) > 0) & pl.col("recency_days").is_not_null()
    scored = features.select(
        "person_id", "recency_days",
        pl.col("frequency").fill_null(0).cast(pl.Int64),
        pl.col("monetary").fill_null(0.0).cast(pl.Float64),
    ).with_columns(
        quintile_score(pl.col("recency_days"), buyer, higher_is_better=False).alias("r_score"),
        quintile_score(pl.col("frequency"), buyer).alias("f_score"),
        quintile_score(pl.col("monetary"), buyer).alias("m_score"),
    )
    grid = pl.DataFrame(
        [{"r_score": r, "f_score": f, "m_score": m, "rfm_segment": segment_name(r, f, m)}
         for r in range(6) for f in range(6) for m in range(6)],
        schema={"r_score": pl.Int8, "f_score": pl.Int8, "m_score": pl.Int8,
                "rfm_segment": pl.String})
    return scored.with_columns(
        pl.concat_str(pl.col("r_score", "f_score", "m_score").cast(pl.String))
        .alias("rfm_score"),
    ).join(grid, on=["r_score", "f_score", "m_score"], how="left", maintain_order="left")
