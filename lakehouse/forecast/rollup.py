"""Forecasts rolled up per product x sales channel x day.

Channel of a location (its ``type`` in ``silver/locations``): a ``store`` sells over its tills,
channel ``store``; every other location type (warehouses) fulfils the online shop, channel
``online`` (web and app sell one shared pool of the warehouses' stock, see
``lakehouse.inventory.channels``, so their demand is one channel here).

Means add up. Intervals by an approximation: locations are taken as independent; each row's
variance is the larger of its mean (Poisson: count demand is never less dispersed) and the
normal-equivalent variance of its widest interval, ``((hi - lo) / (2 z))^2``; variances add; the
channel's interval is the central interval of a negative binomial with the summed mean and
variance (Poisson when the variance does not exceed the mean).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import polars as pl

STORE_TYPE = "store"
STORE_CHANNEL = "store"
ONLINE_CHANNEL = "online"


def channel_of(locations: pl.DataFrame) -> pl.DataFrame:
    """``location_id, channel`` from a locations frame (``location_id`` or ``location_code``,
    and ``type``)."""
    loc = locations.rename({"location_code": "location_id"}) \
        if "location_code" in locations.columns and "location_id" not in locations.columns \
        else locations
    return loc.select("location_id", pl.when(pl.col("type") == STORE_TYPE)
                      .then(pl.lit(STORE_CHANNEL)).otherwise(pl.lit(ONLINE_CHANNEL))
                      .alias("channel")).unique("location_id")


def _levels(frame: pl.DataFrame) -> list[int]:
    return sorted(int(c[3:]) for c in frame.columns if c.startswith("lo_")
                  and f"hi_{c[3:]}" in frame.columns)


def nb_interval(mean: np.ndarray, var: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile of a negative binomial with ``mean`` and ``var`` (Poisson where
    ``var <= mean``)."""
    from scipy import stats

    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    out = np.zeros_like(mean)
    pos = mean > 0
    nb = pos & (var > mean * (1 + 1e-9))
    po = pos & ~nb
    if po.any():
        out[po] = stats.poisson.ppf(q, mean[po])
    if nb.any():
        p = mean[nb] / var[nb]
        n = mean[nb] * p / (1 - p)
        out[nb] = stats.nbinom.ppf(q, n, p)
    return out


def rollup(forecast: pl.DataFrame, locations: pl.DataFrame) -> pl.DataFrame:
    """``product_id, channel, date, model, mean, lo_L, hi_L`` (the levels of ``forecast``) and
    ``locations`` (how many locations were summed). Locations missing from ``locations`` are
    left out."""
    levels = _levels(forecast)
    schema = {"product_id": pl.String, "channel": pl.String, "date": pl.Date,
              "model": pl.String, "mean": pl.Float64}
    schema.update({f"{s}_{lv}": pl.Float64 for lv in levels for s in ("lo", "hi")})
    schema["locations"] = pl.Int64
    if forecast.is_empty():
        return pl.DataFrame(schema=schema)
    f = forecast.join(channel_of(locations), on="location_id", how="inner")
    var = pl.col("mean")
    if levels:
        widest = max(levels)
        z = NormalDist().inv_cdf((100 + widest) / 200)
        var = pl.max_horizontal(pl.col("mean"),
                                ((pl.col(f"hi_{widest}") - pl.col(f"lo_{widest}")) / (2 * z)) ** 2)
    out = (f.with_columns(var.alias("_var"))
           .group_by("product_id", "channel", "date", "model")
           .agg(pl.col("mean").sum(), pl.col("_var").sum(), pl.len().cast(pl.Int64)
                .alias("locations"))
           .sort("product_id", "channel", "date", "model"))
    mean, v = out["mean"].to_numpy(), out["_var"].to_numpy()
    cols = []
    for lv in levels:
        cols += [pl.Series(f"lo_{lv}", nb_interval(mean, v, (100 - lv) / 200), pl.Float64),
                 pl.Series(f"hi_{lv}", nb_interval(mean, v, (100 + lv) / 200), pl.Float64)]
    return out.with_columns(cols).select(list(schema)).cast(schema)
