"""Accuracy of daily positions against the simulator's true stock (``truth/stock_daily``)."""

from __future__ import annotations

import polars as pl

KEY = ["product_id", "location_id", "date"]


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
