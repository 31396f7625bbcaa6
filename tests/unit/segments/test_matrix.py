"""The clustering matrix: imputation, log1p, z-scores, dropped constants, block weights."""

from __future__ import annotations

import numpy as np
import polars as pl

from lakehouse.segments.matrix import Z_CLIP, block, build_matrix, impute


def features() -> pl.DataFrame:
    return pl.DataFrame({
        "person_id": ["P3", "P1", "P2", "P4"],
        "as_of": [1, 1, 1, 1],
        "recency_days": [2.0, None, 10.0, 4.0],
        "frequency": [3, 0, 1, 20],
        "share_web": [0.5, None, 1.0, 0.0],
        "affinity_toys": [0.1, None, 0.2, 0.3],
        "affinity_home": [0.9, None, 0.8, 0.7],
        "affinity_garden": [0.0, None, 0.0, 0.0],
        "orders_30d": [0, 0, 0, 0],
        "email_unsubscribed": [True, False, False, False],
    })


def test_nulls_read_as_never():
    clean = impute(features())
    assert clean["person_id"].to_list() == ["P1", "P2", "P3", "P4"]
    p1 = clean.row(0, named=True)
    assert p1["recency_days"] == 10.0  # as long ago as the longest gone
    assert p1["share_web"] == 0.0 and p1["affinity_toys"] == 0.0
    assert "as_of" not in clean.columns


def test_counts_are_logged_shares_kept_constants_dropped():
    m = build_matrix(features())
    assert "orders_30d" not in m.columns and "affinity_garden" not in m.columns
    assert m.person_ids.to_list() == ["P1", "P2", "P3", "P4"]
    freq = m.values[:, m.columns.index("frequency")]
    logged = np.log1p([0, 1, 3, 20])
    expected = (logged - logged.mean()) / logged.std()
    assert np.allclose(freq, expected)  # value block has one column: weight 1
    web = m.values[:, m.columns.index("share_web")]
    raw = np.array([0.0, 1.0, 0.5, 0.0])
    assert np.allclose(web, (raw - raw.mean()) / raw.std())  # a share: no log


def test_each_block_weighs_the_same():
    m = build_matrix(features())
    # two affinity columns left: each scaled by 1/sqrt(2), so the block's variance sums to 1
    cats = [i for i, c in enumerate(m.columns) if block(c) == "category"]
    assert len(cats) == 2
    assert np.isclose(m.values[:, cats].var(axis=0).sum(), 1.0)
    assert np.isclose(m.values[:, m.columns.index("recency_days")].var(), 1.0)


def test_row_order_does_not_change_the_matrix():
    a = build_matrix(features())
    b = build_matrix(features().reverse())
    assert a.columns == b.columns and np.array_equal(a.values, b.values)


def test_extreme_values_are_clipped():
    many = pl.DataFrame({"person_id": [f"P{i:03d}" for i in range(200)],
                         "monetary": [1.0] * 199 + [1e12]})
    m = build_matrix(many)
    assert m.values.max() == Z_CLIP


def test_blocks_by_name():
    assert block("affinity_home_garden") == "category"
    assert block("share_store") == "channel"
    assert block("emails_opened_30d") == "email" and block("email_open_rate") == "email"
    assert block("sessions_7d") == "browsing"
    assert block("refund_total") == "returns" and block("return_rate") == "returns"
    assert block("monetary_90d") == "value" and block("tenure_days") == "recency"
    assert block("loyalty_points") == "other"
