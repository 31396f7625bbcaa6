"""Rule-based attribution: a fixed rule of a touch's place or age decides its credit.

Each rule takes the converting touches of ``schema.touches`` (sorted by journey and time, with
``_pos``, ``_n`` and ``_at``) and returns them with a ``credit`` column summing to 1 per
journey. ``by_channel_weight`` is the rule the data-driven models share: it turns one weight
per channel of a journey into touch credits.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from lakehouse.marketing.schema import J

_DAY_US = 86_400e6


def first_touch(t: pl.DataFrame) -> pl.DataFrame:
    """All credit to the journey's first touch."""
    return t.with_columns(credit=(pl.col("_pos") == 0).cast(pl.Float64))


def last_touch(t: pl.DataFrame) -> pl.DataFrame:
    """All credit to the touch just before the conversion."""
    return t.with_columns(credit=(pl.col("_pos") == pl.col("_n") - 1).cast(pl.Float64))


def last_non_direct(t: pl.DataFrame, direct_channels: Sequence[str] = ("direct",)
                    ) -> pl.DataFrame:
    """All credit to the last touch outside ``direct_channels`` (a typed-in visit usually follows
    the touch that made the customer come back); to the last touch if every touch is direct."""
    chosen = (pl.when(~pl.col("channel").is_in(list(direct_channels))).then(pl.col("_pos"))
              .max().over(J).fill_null(pl.col("_n") - 1))
    return t.with_columns(credit=(pl.col("_pos") == chosen).cast(pl.Float64))


def linear(t: pl.DataFrame) -> pl.DataFrame:
    """Equal credit to every touch."""
    return t.with_columns(credit=1.0 / pl.col("_n"))


def time_decay(t: pl.DataFrame, half_life_days: float = 7.0) -> pl.DataFrame:
    """Credit halving every ``half_life_days`` before the conversion: weight
    ``2 ** (-(converted_at - occurred_at) / half_life)``, normalised per conversion.

    Ages are measured from the journey's last touch instead of the conversion: the ratios, and
    so the normalised credits, are the same, and the last touch's weight of 1 keeps a journey
    months long from underflowing to 0 / 0.
    """
    if not half_life_days > 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days}")
    age = (pl.col("_at").max().over(J) - pl.col("_at")).dt.total_microseconds()
    weighted = t.with_columns(_w=pl.lit(2.0).pow(-age / (_DAY_US * half_life_days)))
    return weighted.with_columns(credit=pl.col("_w") / pl.col("_w").sum().over(J)).drop("_w")


def position_based(t: pl.DataFrame, first: float = 0.4, last: float = 0.4) -> pl.DataFrame:
    """``first`` to the first touch, ``last`` to the last, the rest split over the middle; a
    single touch gets 1 and two touches share in the ratio ``first : last``."""
    if min(first, last) < 0 or not 0 < first + last <= 1:
        raise ValueError(f"position_based needs first, last >= 0 and 0 < first + last <= 1, "
                         f"got first={first}, last={last}")
    pos, n = pl.col("_pos"), pl.col("_n")
    credit = (pl.when(n == 1).then(1.0)
              .when(n == 2).then(pl.when(pos == 0).then(first / (first + last))
                                 .otherwise(last / (first + last)))
              .when(pos == 0).then(first)
              .when(pos == n - 1).then(last)
              .otherwise((1.0 - first - last) / (n - 2)))
    return t.with_columns(credit=credit)


def by_channel_weight(t: pl.DataFrame) -> pl.DataFrame:
    """Credits from a weight ``_w`` per (journey, channel): normalised over the journey's
    distinct channels, each channel's share split evenly over its touches; linear when every
    weight is 0 (there is no evidence to prefer one touch)."""
    per_touch = t.with_columns(_w=pl.col("_w") / pl.len().over(J, "channel"))
    total = pl.col("_w").sum().over(J)
    return per_touch.with_columns(
        credit=pl.when(total > 0).then(pl.col("_w") / total).otherwise(1.0 / pl.col("_n"))
    ).drop("_w")
