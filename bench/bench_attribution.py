"""Attribution figures: seconds per model, all models in one call, touches/s and peak RSS.

Synthetic journeys from a numpy RNG (no simulator): geometric journey lengths (mean ~6.7
touches, so 1M touches are ~150k journeys), channels drawn by popularity, and a journey
converting with probability ``1 - prod(1 - lift(channel))`` over its touches (~40%), so the
data-driven models have real signal to find. Each model is timed on its own (validation
included), then ``attribute(model="all")`` as one call, which trains Markov and Shapley once.

    .venv/bin/python bench/bench_attribution.py [--touches 1000000] [--channels 8] [--seed 0]
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import datetime

import numpy as np
import polars as pl

from lakehouse.marketing import MODELS, attribute, channel_shares

_NAMES = ("paid_search", "paid_social", "display", "email", "organic_search", "referral",
          "direct", "store")


def synthetic_journeys(touches: int, channels: int = 8, seed: int = 0) -> pl.DataFrame:
    """``touches`` rows of the journey schema plus a ``campaign_id``."""
    rng = np.random.default_rng(seed)
    names = [*_NAMES, *[f"channel_{i}" for i in range(len(_NAMES), channels)]][:channels]
    lengths = rng.geometric(0.15, size=touches // 3 + 1)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), touches) + 1]
    lengths[-1] -= lengths.sum() - touches
    journey = np.repeat(np.arange(lengths.size), lengths)
    popularity = rng.dirichlet(np.full(channels, 2.0))
    channel = rng.choice(channels, size=touches, p=popularity)
    lift = rng.uniform(0.04, 0.14, size=channels)
    p_convert = 1 - np.exp(np.bincount(journey, weights=np.log1p(-lift[channel])))
    converted = rng.random(lengths.size) < p_convert
    start = rng.uniform(0, 90 * 86_400, size=lengths.size)
    gaps = rng.exponential(86_400.0, size=touches)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    elapsed = np.cumsum(gaps) - np.cumsum(gaps)[first] + start[journey]
    last = np.cumsum(lengths) - 1
    converted_s = elapsed[last] + rng.exponential(7_200.0, size=lengths.size)
    epoch = datetime(2025, 1, 1)
    micros = (elapsed * 1e6).astype(np.int64)
    conv_micros = (converted_s * 1e6).astype(np.int64)[journey]
    return pl.DataFrame({
        "j": journey, "touch": np.arange(touches), "c": channel, "micros": micros,
        "converted": converted[journey], "conv_micros": conv_micros,
        "value": rng.lognormal(4.0, 0.6, size=lengths.size)[journey],
        "campaign": rng.integers(0, 200, size=touches),
    }).select(
        pl.format("j{}", pl.col("j")).alias("journey_id"),
        pl.format("t{}", pl.col("touch")).alias("touch_id"),
        pl.col("c").replace_strict(dict(enumerate(names)), return_dtype=pl.String)
        .alias("channel"),
        (pl.lit(epoch) + pl.duration(microseconds=pl.col("micros"))).alias("occurred_at"),
        pl.when("converted").then(pl.format("c{}", pl.col("j"))).alias("conversion_id"),
        pl.when("converted").then(pl.lit(epoch) + pl.duration(microseconds=pl.col("conv_micros")))
        .alias("converted_at"),
        pl.when("converted").then(pl.col("value")).alias("conversion_value"),
        pl.format("cmp{}", pl.col("campaign")).alias("campaign_id"),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--touches", type=int, default=1_000_000)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    journeys = synthetic_journeys(args.touches, args.channels, args.seed)
    n_journeys = journeys["journey_id"].n_unique()
    n_conv = journeys["conversion_id"].n_unique() - 1
    print(f"{journeys.height:,} touches, {n_journeys:,} journeys, {n_conv:,} conversions "
          f"({n_conv / n_journeys:.0%}), {args.channels} channels, generated in "
          f"{time.perf_counter() - t0:.1f} s")
    for model in MODELS:
        t0 = time.perf_counter()
        out = attribute(journeys, model, keep=("campaign_id",))
        print(f"  {model:<16} {time.perf_counter() - t0:6.2f} s  {out.height:,} rows")
    t0 = time.perf_counter()
    out = attribute(journeys, "all", keep=("campaign_id",))
    total = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"all models in one call: {total:.2f} s, {out.height:,} rows, "
          f"{journeys.height / total:,.0f} touches/s, peak RSS {peak:,.0f} MB")
    shares = channel_shares(out).pivot("model", index="channel", values="share").select(
        "channel", *MODELS)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, float_precision=3, tbl_width_chars=200):
        print(shares)


if __name__ == "__main__":
    main()
