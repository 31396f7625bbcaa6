"""Accuracy of daily positions against the simulator's true stock (``truth/stock_daily``).

Two things keep a correct ledger from equalling the truth, and ``explain`` puts every
mismatching position in a class so they can be told apart from real errors:

- unrecorded shrinkage: the truth loses units the evening they vanish; no record shows it
  until the next cycle count. A position over the truth by exactly what the key's next count
  reveals (and by no more than on the day before that count) differs *only* by shrinkage not
  yet counted; after a key's last count it cannot be verified, only bounded (over, on hand
  only).
- events in flight: the run ends with late records not landed yet (up to ``max_late_days``
  late, plus the nightly till export), so the last ``settle_days`` days are not settled.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from lakehouse.inventory.fold import running

KEY = ["product_id", "location_id", "date"]
SETTLE_DAYS = 4  # max_late_days (3) + the nightly till export landing the next morning

EQUAL = "equal"
SHRINK = "on hand over by shrinkage the next count reveals"
SHRINK_OPEN = "on hand over after the key's last count (shrinkage not counted yet)"
IN_FLIGHT = "events still in flight at the end of the run"
OTHER = "other"


def compare(daily: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Truth rows with our ``on_hand_ledger`` / ``reserved_ledger`` next to them (a position
    we never saw counts as zero)."""
    ours = daily.select(*KEY, pl.col("on_hand").alias("on_hand_ledger"),
                        pl.col("reserved").alias("reserved_ledger"))
    return truth.select(*KEY, "on_hand", "reserved").join(ours, on=KEY, how="left").with_columns(
        pl.col("on_hand_ledger").fill_null(0), pl.col("reserved_ledger").fill_null(0))


def evaluate(daily: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """Share of product x location x day positions equal to the truth (on hand and reserved
    both), and per measure."""
    c = compare(daily, truth)
    oh = pl.col("on_hand") == pl.col("on_hand_ledger")
    rs = pl.col("reserved") == pl.col("reserved_ledger")
    s = c.select(
        pl.len().alias("positions"),
        (oh & rs).mean().alias("share_equal"),
        oh.mean().alias("share_on_hand_equal"),
        rs.mean().alias("share_reserved_equal"),
        (pl.col("on_hand_ledger") - pl.col("on_hand")).abs().sum().alias("abs_on_hand_error"),
    ).row(0, named=True)
    return {k: (float(v) if isinstance(v, float) else int(v)) for k, v in s.items()}


def classify(ledger: pl.DataFrame, daily: pl.DataFrame, truth: pl.DataFrame,
             settle_days: int = SETTLE_DAYS) -> pl.DataFrame:
    """``compare`` plus ``d`` (ours minus truth, on hand) and ``cls`` for every position."""
    c = compare(daily, truth).with_columns(
        (pl.col("on_hand_ledger") - pl.col("on_hand")).alias("d"))
    last = c["date"].max()
    counts = running(ledger).filter(pl.col("absolute_on_hand").is_not_null()).select(
        "product_id", "location_id", pl.col("business_day").alias("count_day"),
        pl.col("shrinkage").fill_null(0).alias("revealed"))
    # the key's next count after each day, and how far over we were the day before it
    nxt = (c.select(KEY).sort("date")
           .join_asof(counts.sort("count_day"), left_on="date", right_on="count_day",
                      by=["product_id", "location_id"], strategy="forward",
                      allow_exact_matches=False, check_sortedness=False))
    eve = c.select("product_id", "location_id", (pl.col("date") + timedelta(days=1))
                   .alias("count_day"), pl.col("d").alias("d_eve"))
    nxt = nxt.join(eve, on=["product_id", "location_id", "count_day"], how="left")
    c = c.join(nxt, on=KEY, how="left")
    res_ok = pl.col("reserved") == pl.col("reserved_ledger")
    settled = pl.col("date") <= last - timedelta(days=settle_days)
    cls = (pl.when((pl.col("d") == 0) & res_ok).then(pl.lit(EQUAL))
           .when(res_ok & (pl.col("d") > 0) & pl.col("count_day").is_not_null()
                 & (pl.col("d_eve") == -pl.col("revealed")) & (pl.col("d") <= pl.col("d_eve")))
           .then(pl.lit(SHRINK))
           .when(~settled).then(pl.lit(IN_FLIGHT))
           .when(res_ok & (pl.col("d") > 0) & pl.col("count_day").is_null())
           .then(pl.lit(SHRINK_OPEN))
           .otherwise(pl.lit(OTHER)))
    return c.with_columns(cls.alias("cls"), settled.alias("settled")).drop("d_eve")


def explain(ledger: pl.DataFrame, daily: pl.DataFrame, truth: pl.DataFrame,
            settle_days: int = SETTLE_DAYS) -> dict:
    """Accuracy both ways, on all days and on settled days, with every mismatch classed.

    ``share_equal_without_uncounted_shrinkage``: equal positions among those that do not
    differ only by shrinkage no record has revealed yet (settled days)."""
    c = classify(ledger, daily, truth, settle_days)
    s = c.filter(pl.col("settled"))
    shrink = pl.col("cls").is_in([SHRINK, SHRINK_OPEN])
    eq = pl.col("cls") == EQUAL
    n_s = max(s.height, 1)
    out = {
        "positions": c.height,
        "share_equal": c.select(eq.mean()).item(),
        "settled_positions": s.height,
        "share_equal_settled": s.select(eq.mean()).item() if s.height else 0.0,
        "uncounted_shrinkage_positions": s.select(shrink.sum()).item(),
        "share_equal_without_uncounted_shrinkage":
            s.select(eq.sum()).item() / max(n_s - s.select(shrink.sum()).item(), 1),
        "classes": dict(c.group_by("cls").len().sort("len", descending=True).iter_rows()),
        "classes_settled": dict(s.group_by("cls").len().sort("len", descending=True)
                                .iter_rows()),
    }
    return out


def scores(ledger: pl.DataFrame, daily: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """Flat numbers for asset metadata: ``evaluate`` plus the settled / shrinkage-aware
    shares of ``explain``."""
    e = explain(ledger, daily, truth)
    return {**evaluate(daily, truth),
            **{k: v for k, v in e.items() if isinstance(v, int | float)}}
