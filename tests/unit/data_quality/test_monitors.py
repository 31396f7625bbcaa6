"""Volume and drift statistics (data_quality/monitors.py)."""

import numpy as np
import polars as pl

from data_quality.monitors import (
    PSI_THRESHOLD,
    drift_markdown,
    feature_drift,
    ks_statistic,
    psi_categorical,
    psi_numeric,
    sparkline,
    volume_verdict,
)


def test_volume_needs_history_then_judges_on_a_robust_band():
    assert volume_verdict(100, [100, 90]).passed
    assert "not enough history" in volume_verdict(100, [100, 90]).reason
    steady = [1000, 1100, 950, 1050, 980, 1020]
    assert volume_verdict(1010, steady).passed
    high = volume_verdict(50_000, steady)
    assert not high.passed and "above" in high.reason
    low = volume_verdict(40, steady)
    assert not low.passed and "below" in low.reason
    # a constant feed still tolerates a factor of two either way (MAD 0)
    constant = volume_verdict(1900, [1000] * 8)
    assert constant.passed and constant.lower <= 500.5 and constant.upper >= 1999
    # one huge backfill in the history does not widen the band
    assert not volume_verdict(50_000, [*steady, 1_000_000]).passed


def test_empty_increments_are_neither_judged_nor_history():
    verdict = volume_verdict(0, [1000] * 10)
    assert verdict.passed and "no rows appended" in verdict.reason
    assert "not enough history" in volume_verdict(1000, [0] * 10 + [1000]).reason


def test_sparkline_is_one_bar_per_point():
    line = sparkline([1, 10, 100, 1000])
    assert len(line) == 4 and line[0] == "▁" and line[-1] == "█"
    assert sparkline([]) == ""


def test_numeric_psi_and_ks_see_a_shift_not_noise():
    rng = np.random.default_rng(7)
    ref = pl.Series(rng.normal(0, 1, 5000))
    same = pl.Series(rng.normal(0, 1, 5000))
    shifted = pl.Series(rng.normal(1, 1, 5000))
    assert psi_numeric(ref, same) < 0.05 < PSI_THRESHOLD < psi_numeric(ref, shifted)
    assert ks_statistic(ref, same) < 0.05 and ks_statistic(ref, shifted) > 0.3
    # more nulls is drift too: nulls are a bin of their own
    with_nulls = pl.Series([None] * 2500 + rng.normal(0, 1, 2500).tolist(), dtype=pl.Float64)
    assert psi_numeric(ref, with_nulls) > PSI_THRESHOLD
    # a constant column does not divide by zero
    assert psi_numeric(pl.Series([1.0] * 10), pl.Series([1.0] * 10)) == 0.0


def test_categorical_psi_on_shares_with_new_categories_as_other():
    ref = pl.Series(["a"] * 50 + ["b"] * 50)
    assert psi_categorical(ref, ref) == 0.0
    assert psi_categorical(ref, pl.Series(["a"] * 52 + ["b"] * 48)) < 0.01
    assert psi_categorical(ref, pl.Series(["a"] * 90 + ["b"] * 10)) > PSI_THRESHOLD
    assert psi_categorical(ref, pl.Series(["c"] * 100)) > PSI_THRESHOLD  # unseen category


def test_feature_drift_judges_every_column_and_lists_the_rest():
    rng = np.random.default_rng(1)
    n = 2000
    ref = pl.DataFrame({"person_id": [f"p{i}" for i in range(n)],
                        "as_of": [None] * n,
                        "spend": rng.gamma(2, 50, n), "orders": rng.poisson(3, n),
                        "segment": rng.choice(["x", "y", "z"], n).tolist(),
                        "vip": rng.random(n) < 0.1}).with_columns(
        pl.col("as_of").cast(pl.Datetime("us", "UTC")))
    cur = ref.with_columns(pl.col("spend") * 3, pl.lit(True).alias("vip"),
                           pl.lit(1.0).alias("new_score"))
    rows = {r.column: r for r in feature_drift(ref, cur, skip={"person_id": "entity key"})}
    assert rows["person_id"].kind == "skipped" and not rows["person_id"].drifted
    assert rows["as_of"].kind == "skipped"
    assert rows["spend"].drifted and rows["spend"].ks is not None
    assert not rows["orders"].drifted and not rows["segment"].drifted
    assert rows["vip"].kind == "categorical" and rows["vip"].drifted
    assert rows["new_score"].drifted and "new column" in rows["new_score"].note
    table = drift_markdown(list(rows.values()))
    assert "| `spend` | numeric |" in table and "**yes**" in table
