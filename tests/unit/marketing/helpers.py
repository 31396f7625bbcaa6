"""Journeys written as paths (``"email > direct > $"``) and DP6's view of them, for the
attribution tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
from mam import MAMPipeline

T0 = datetime(2025, 3, 1, 9)


def journeys(*paths: str) -> pl.DataFrame:
    """One journey per path (``j0``, ``j1``, ...): ``"email > direct"`` has touches an hour
    apart and does not convert; a last token ``$`` (value 1) or ``$<value>`` converts it
    (``c<i>``, an hour after its last touch)."""
    rows = []
    for i, path in enumerate(paths):
        tokens = [p.strip() for p in path.split(">")]
        end = tokens.pop() if tokens[-1].startswith("$") else None
        converted = T0 + timedelta(hours=len(tokens)) if end else None
        value = float(end[1:] or 1.0) if end else None
        for k, channel in enumerate(tokens):
            rows.append((f"j{i}", f"j{i}t{k}", channel, T0 + timedelta(hours=k),
                         f"c{i}" if end else None, converted, value))
    return pl.DataFrame(rows, orient="row", schema={
        "journey_id": pl.String, "touch_id": pl.String, "channel": pl.String,
        "occurred_at": pl.Datetime("us"), "conversion_id": pl.String,
        "converted_at": pl.Datetime("us"), "conversion_value": pl.Float64})


def random_paths(seed: int, n: int, channels: str = "abcde", max_len: int = 6,
                 lift: float = 0.15) -> list[str]:
    """``n`` random paths over single-letter channels of unequal popularity; a journey
    converts with probability ``1 - prod(1 - lift_c)`` over its distinct channels (``lift_c``
    between ``lift / 2`` and ``2 * lift``), so each channel adds to the rate."""
    rng = np.random.default_rng(seed)
    popularity = rng.dirichlet(np.full(len(channels), 2.0))
    lifts = dict(zip(channels, rng.uniform(lift / 2, 2 * lift, len(channels)), strict=True))
    paths = []
    for _ in range(n):
        touches = rng.choice(list(channels), size=rng.integers(1, max_len + 1), p=popularity)
        converts = rng.random() < 1 - np.prod([1 - lifts[c] for c in sorted(set(touches))])
        paths.append(" > ".join([*touches, "$"] if converts else touches))
    return paths


def credits(out: pl.DataFrame, model: str) -> list[float]:
    return out.filter(pl.col("model") == model)["credit"].to_list()


def mam_journeys(paths: list[str]) -> pl.DataFrame:
    """``paths`` as DP6's pipeline prepares journeys (one per path, touch times all 0)."""
    frame = pl.DataFrame({
        "journey_id": [f"j{i}" for i in range(len(paths))],
        "path": [p.removesuffix(" > $") for p in paths],
        "times": [" > ".join(["0"] * len(p.removesuffix(" > $").split(" > "))) for p in paths],
        "has_conv": [p.endswith(" > $") for p in paths]})
    return MAMPipeline.preprocess(frame, "journey", channels_colname="path",
                                  journey_with_conv_colname="has_conv",
                                  user_id_colname="journey_id", time_till_conv_colname="times")
