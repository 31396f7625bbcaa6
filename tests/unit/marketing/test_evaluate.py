"""Attribution grading on a tiny hand-made truth: every expected figure is worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from lakehouse.marketing.evaluate import conversion_credits, score, true_incremental
from lakehouse.simulate.truth import SCHEMAS, to_arrow

# order, channel, source, session campaign, ad campaign, network, p_buy, p w/o ads, p w/o e-mail
DRIVERS = [
    # organic visit, no touch: organic_search 1
    ("o1", "web", "organic", "", "", "", 0.1, 0.1, 0.1),
    # ad session (search) with an e-mail lift: paid_search 1 (not 1 + ad lift), email 1 - .2/.4
    ("o2", "web", "ads", "cmp-sea-01", "cmp-sea-01", "search", 0.4, 0.1, 0.2),
    # app session with a social ad lift: direct 1, paid_social 1 - .2/.5 = .6
    ("o3", "app", "direct", "", "cmp-soc-03", "social", 0.5, 0.2, 0.5),
    # store visit, display and e-mail lifts: store 1, display 1 - .6/.8, email 1 - .4/.8
    ("o4", "store", "store", "", "cmp-dis-05", "display", 0.8, 0.6, 0.4),
    # e-mail session (cancelled order): email 1 (its own lift is in the 1)
    ("o5", "web", "email", "em-20260106", "", "", 0.25, 0.25, 0.1),
    # direct web visit, older search touch of another campaign: direct 1, paid_search .75
    ("o6", "web", "direct", "", "cmp-sea-02", "search", 0.2, 0.05, 0.2),
]
CANCELLED = {"o5"}


def _write(truth: Path, table: str, rows: list[tuple]) -> None:
    pq.write_table(to_arrow(rows, SCHEMAS[table]), truth / f"{table}.parquet")


@pytest.fixture
def truth_dir(tmp_path: Path) -> Path:
    _write(tmp_path, "conversion_drivers",
           [(o, f"P{k}", ch, *rest) for k, (o, ch, *rest) in enumerate(DRIVERS)])
    _write(tmp_path, "orders", [(o, f"P{k}", ch, 1_767_225_600_000, "WH01", 1, 10.0,
                                 o in CANCELLED, False)
                                for k, (o, ch, *_) in enumerate(DRIVERS)])
    return tmp_path


def _as_dict(frame: pl.DataFrame, column: str) -> dict[str, float]:
    return dict(zip(frame["channel"], frame[column], strict=True))


def test_true_incremental_all_orders(truth_dir: Path) -> None:
    t = true_incremental(truth_dir)
    expected = {"organic_search": 1.0, "paid_search": 1.0 + 0.75, "email": 0.5 + 0.5 + 1.0,
                "direct": 2.0, "paid_social": 0.6, "store": 1.0, "display": 0.25}
    total = sum(expected.values())  # 8.6
    assert total == pytest.approx(8.6)
    assert _as_dict(t, "incremental") == pytest.approx(expected)
    assert _as_dict(t, "share") == pytest.approx({k: v / total for k, v in expected.items()})
    assert t.columns == ["channel", "incremental", "share"]
    # largest first, ties by name
    assert t["channel"].to_list() == ["direct", "email", "paid_search", "organic_search",
                                      "store", "paid_social", "display"]


def test_true_incremental_without_cancelled(truth_dir: Path) -> None:
    t = true_incremental(truth_dir, include_cancelled=False)
    inc = _as_dict(t, "incremental")
    assert inc["email"] == pytest.approx(1.0)  # o5's 1 is gone
    assert sum(inc.values()) == pytest.approx(7.6)
    assert _as_dict(t, "share")["email"] == pytest.approx(1.0 / 7.6)


def test_credits_per_order(truth_dir: Path) -> None:
    c = conversion_credits(truth_dir)
    o2 = dict(c.filter(pl.col("order_id") == "o2").select("channel", "credit").iter_rows())
    assert o2 == pytest.approx({"paid_search": 1.0, "email": 0.5})
    o1 = c.filter(pl.col("order_id") == "o1")
    assert o1.rows() == [("o1", "organic_search", 1.0)]  # zero credits are left out


def test_unknown_source_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path, "conversion_drivers",
           [("o1", "P1", "web", "referral", "", "", "", 0.1, 0.1, 0.1)])
    with pytest.raises(ValueError, match="referral"):
        true_incremental(tmp_path)


TRUE = pl.DataFrame({"channel": ["a", "b", "c"], "share": [0.5, 0.3, 0.2]})


def test_score() -> None:
    shares = pl.DataFrame(
        [("m1", "a", 0.5), ("m1", "b", 0.2), ("m1", "c", 0.3),
         ("m2", "a", 0.4), ("m2", "d", 0.6),
         ("m3", "a", 1 / 3), ("m3", "b", 1 / 3), ("m3", "c", 1 / 3)],
        schema=["model", "channel", "share"], orient="row")
    s = {r["model"]: r for r in score(shares, TRUE).iter_rows(named=True)}
    assert list(s) == ["m1", "m2", "m3"]
    # m1: errors 0, .1, .1; ranks true (3, 2, 1), model (3, 1, 2): 1 - 6 * 2 / (3 * 8) = .5
    assert s["m1"]["total_absolute_error"] == pytest.approx(0.2)
    assert s["m1"]["max_abs_error_pp"] == pytest.approx(10.0)
    assert s["m1"]["spearman"] == pytest.approx(0.5)
    assert s["m1"]["n_channels"] == 3
    # m2 over a, b, c, d: model (.4, 0, 0, .6), true (.5, .3, .2, 0): errors .1 .3 .2 .6;
    # ranks model (3, 1.5, 1.5, 4), true (4, 3, 2, 1): covariance -1.5 / sqrt(4.5 * 5)
    assert s["m2"]["total_absolute_error"] == pytest.approx(1.2)
    assert s["m2"]["max_abs_error_pp"] == pytest.approx(60.0)
    assert s["m2"]["spearman"] == pytest.approx(-1 / math.sqrt(10))
    assert s["m2"]["n_channels"] == 4
    # m3: all ties, no rank order; errors 1/6, 1/30, 2/15
    assert s["m3"]["total_absolute_error"] == pytest.approx(1 / 3)
    assert s["m3"]["max_abs_error_pp"] == pytest.approx(100 / 6)
    assert s["m3"]["spearman"] is None


def test_score_perfect_and_duplicates() -> None:
    perfect = TRUE.with_columns(pl.lit("m").alias("model"))
    r = score(perfect, TRUE).row(0, named=True)
    assert r["total_absolute_error"] == 0.0 and r["spearman"] == pytest.approx(1.0)
    twice = pl.DataFrame({"model": ["m", "m"], "channel": ["a", "a"], "share": [0.5, 0.5]})
    with pytest.raises(ValueError, match="twice"):
        score(twice, TRUE)


def test_score_on_true_incremental(truth_dir: Path) -> None:
    t = true_incremental(truth_dir)
    r = score(t.select("channel", "share").with_columns(pl.lit("truth").alias("model")), t)
    assert r["total_absolute_error"][0] == pytest.approx(0.0)
    assert r["n_channels"][0] == 7
