"""Demand over a lead time, from a forecast frame, as a gamma distribution.

The forecast gives a mean per day and (optionally) 80 % / 95 % upper bounds. A day's variance
is read off the widest bound given (normal approximation), and never below the mean (Poisson):
a forecast that claims more certainty than counting noise allows is not believed. Demand over
a random lead time ``L`` has mean ``d E[L]`` and variance ``E[L] var_d + d^2 Var[L]``; slow
movers make it skewed and non-negative, so it is modelled as a gamma with those moments, whose
quantiles and expected shortfall ``E[(D - x)+]`` have closed forms.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

KEY = ["product_id", "location_id"]
Z = {"hi_95": 1.959964, "hi_80": 1.281552}  # upper bounds as standard normal quantiles
TAIL_DAYS = 7  # a forecast ending before the window: its last week stands for what follows


def _day_variance(forecast: pl.DataFrame) -> pl.Expr:
    mean = pl.col("mean").clip(lower_bound=0.0)
    for col, z in Z.items():
        if col in forecast.columns:
            sd = ((pl.col(col) - mean) / z).clip(lower_bound=0.0)
            return pl.max_horizontal(sd ** 2, mean).fill_null(mean)
    return mean


def daily_demand(forecast: pl.DataFrame, as_of: date, window_days: int) -> pl.DataFrame:
    """product_id, location_id, rate, rate_var: mean units a day over the ``window_days`` after
    ``as_of`` and the variance of one day's units. Keys whose forecast ends before that window
    use their last ``TAIL_DAYS`` days."""
    f = forecast.select(*KEY, "date", pl.col("mean").clip(lower_bound=0.0).alias("m"),
                        _day_variance(forecast).alias("v"))
    agg = [pl.col("m").mean().alias("rate"), pl.col("v").mean().alias("rate_var")]
    window = f.filter((pl.col("date") > as_of)
                      & (pl.col("date") <= as_of + timedelta(days=window_days)))
    ahead = window.group_by(KEY).agg(agg)
    tail = (f.join(ahead.select(KEY), on=KEY, how="anti").sort("date")
            .group_by(KEY).tail(TAIL_DAYS).group_by(KEY).agg(agg))
    return pl.concat([ahead, tail]).sort(KEY)


def lead_time_moments(rate: np.ndarray, rate_var: np.ndarray, lead_mean: np.ndarray,
                      lead_var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of demand over a random lead time (independent days)."""
    return rate * lead_mean, lead_mean * rate_var + rate ** 2 * lead_var


def _shape_scale(mu: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = np.maximum(mu, 1e-12)
    var = np.maximum(var, 1e-12)
    return mu ** 2 / var, var / mu


def quantile(p: np.ndarray | float, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    """The ``p`` quantile of a gamma with mean ``mu`` and variance ``var`` (0 when mu is 0)."""
    from scipy.stats import gamma  # on first use: the code location loads this package

    k, theta = _shape_scale(mu, var)
    return np.where(mu > 0, gamma.ppf(p, k, scale=theta), 0.0)


def expected_shortfall(x: np.ndarray, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``E[(D - x)+]``: expected units short when ``x`` units meet gamma demand ``D``."""
    from scipy.stats import gamma  # on first use: the code location loads this package

    k, theta = _shape_scale(mu, var)
    xs = np.maximum(x, 0.0)
    tail = mu * gamma.sf(xs, k + 1, scale=theta) - xs * gamma.sf(xs, k, scale=theta)
    return np.where(mu > 0, np.maximum(tail, 0.0) + np.maximum(-x, 0.0), np.maximum(-x, 0.0))
