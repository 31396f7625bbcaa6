"""Shapley value attribution: a channel earns its average marginal conversion rate.

The game's value of a set of channels S is the conversion rate of the journeys whose distinct
channels are exactly S (``v(empty) = 0``). A conversion through the set C credits each channel
j of C with its Shapley value phi_j in the game restricted to the subsets of C. Journeys share
few distinct sets, so each is solved once (2**|C| coalitions, in numpy) and joined back.

Conversion rates need not grow with the set (adding a channel may lower the rate), so a phi_j
can be negative: it is clipped to 0 before normalising, since a credit is a share of a
conversion. By efficiency the phis sum to ``v(C) > 0`` (C holds this very conversion), so the
clipped sum is positive and the normalisation is always defined.
"""

from __future__ import annotations

from math import factorial

import numpy as np
import polars as pl

from lakehouse.marketing.schema import J, touches

# ``max_subset`` by default: most coalitions are never observed (8 channels give 255 sets,
# journeys cluster on a few), and ``zero`` (DP6's choice) reads "never seen" as "never
# converts", which hands a set's whole rate to whichever channels complete a rare combination
# and makes the credits follow what the sample happened to contain; the largest rate among the
# observed subsets assumes only that adding a channel does not lose the conversions its
# subsets already win.
MISSING = ("max_subset", "zero")
DEFAULT_MISSING = "max_subset"


def shapley_values(journeys: pl.DataFrame | pl.LazyFrame, missing: str = DEFAULT_MISSING,
                   max_channels: int = 12) -> pl.DataFrame:
    """``channel, value, share``: the conversions attributed to each channel over all
    conversions (value sums to the number of conversions; share = value / that number, 0 when
    nothing converts), every channel seen, sorted by channel."""
    t = touches(journeys)
    sets = channel_sets(t)
    per_set = sets.group_by("_set").agg(pl.col("converted").sum().alias("_conv"))
    values = (set_weights(sets, missing, max_channels)
              .join(per_set, on="_set", maintain_order="left")
              .with_columns(value=pl.col("_w") / pl.col("_w").sum().over("_set")
                            * pl.col("_conv"))
              .group_by("channel", maintain_order=True).agg(pl.col("value").sum()))
    values = (t.select(pl.col("channel").unique()).join(values, on="channel", how="left")
              .with_columns(pl.col("value").fill_null(0.0)).sort("channel"))
    total = values["value"].sum()
    return values.with_columns(share=pl.col("value") / total if total > 0 else pl.lit(0.0))


def channel_sets(t: pl.DataFrame) -> pl.DataFrame:
    """``journey_id, _set, converted``: each journey's distinct channels as a sorted,
    ``\\x1f``-joined key."""
    return t.group_by(J).agg(
        pl.col("channel").unique().sort().str.join("\x1f").alias("_set"),
        pl.col("conversion_id").first().is_not_null().alias("converted"))


def set_weights(sets: pl.DataFrame, missing: str = DEFAULT_MISSING, max_channels: int = 12
                ) -> pl.DataFrame:
    """``_set, channel, _w``: the clipped Shapley value of each channel of each converting set.

    A converting journey over more than ``max_channels`` distinct channels raises ``ValueError``
    (its game has 2**n coalitions); non-converting journeys of any size only lend their set's
    rate to the games that contain it.
    """
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {MISSING}, got {missing!r}")
    observed = (sets.group_by("_set")
                .agg(pl.len().alias("journeys"), pl.col("converted").sum().alias("conversions"),
                     pl.col(J).filter(pl.col("converted")).min().alias("example"))
                .sort("_set"))
    members = observed["_set"].str.split("\x1f")
    channels = members.explode().unique().sort()
    code = {c: i for i, c in enumerate(channels)}
    held = np.zeros((observed.height, channels.len()), dtype=bool)
    for i, names in enumerate(members):
        held[i, [code[c] for c in names]] = True
    rate = (observed["conversions"] / observed["journeys"]).to_numpy()
    rows: list[tuple[str, str, float]] = []
    for i in map(int, np.flatnonzero(observed["conversions"].to_numpy() > 0)):
        inside = np.flatnonzero(held[i])
        if inside.size > max_channels:
            raise ValueError(
                f"journey_id {observed['example'][i]!r} converts through {inside.size} distinct "
                f"channels, more than max_channels={max_channels}: its Shapley game has "
                f"2**{inside.size} coalitions; raise max_channels or group channels")
        value = _game(held, rate, inside, missing)
        phi = np.clip(_shapley(value, inside.size), 0.0, None)
        key = observed["_set"][i]
        rows += [(key, channels[int(c)], float(w)) for c, w in zip(inside, phi, strict=True)]
    return pl.DataFrame(rows, schema={"_set": pl.String, "channel": pl.String, "_w": pl.Float64},
                        orient="row")


def _game(held: np.ndarray, rate: np.ndarray, inside: np.ndarray, missing: str) -> np.ndarray:
    """``v`` over the 2**n coalitions of the channels ``inside`` (bit k = ``inside[k]``)."""
    outside = np.ones(held.shape[1], dtype=bool)
    outside[inside] = False
    sub = ~held[:, outside].any(axis=1)  # observed sets within this game
    masks = held[sub][:, inside].astype(np.int64) @ (1 << np.arange(inside.size))
    value = np.zeros(1 << inside.size)
    value[masks] = rate[sub]
    if missing == "max_subset":
        best = value.copy()
        coalitions = np.arange(value.size)
        for k in range(inside.size):  # best[m] = max over observed subsets of m
            best = np.maximum(best, best[coalitions & ~(1 << k)])
        seen = np.zeros(value.size, dtype=bool)
        seen[masks] = True
        value = np.where(seen, value, best)
    return value


def _shapley(value: np.ndarray, n: int) -> np.ndarray:
    """phi_k = sum over coalitions m holding k of (|m|-1)!(n-|m|)!/n! * (v(m) - v(m - k))."""
    coalitions = np.arange(value.size)
    size = np.bitwise_count(coalitions)
    weight = np.array([factorial(s - 1) * factorial(n - s) / factorial(n) if s else 0.0
                       for s in range(n + 1)])
    phi = np.empty(n)
    for k in range(n):
        m = coalitions[(coalitions >> k) & 1 == 1]
        phi[k] = (weight[size[m]] * (value[m] - value[m ^ (1 << k)])).sum()
    return phi
