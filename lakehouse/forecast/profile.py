"""The day-of-week profile model: a key's level x its location's weekday profile x the promotion
uplift. It imputes censored days (``impute``), is the default forecasting model
(``dow_profile``), and its factors deseasonalise the series the statistical models are fitted on
(``models.py``). Everything is learnt from the history alone (no simulator constants).

- weekday profile per location: mean demand on each weekday over the location's mean, over its
  uncensored days without any promotion at the location, shrunk towards the profile of all
  locations when the location sold little (``PROFILE_PRIOR_UNITS`` units of weight), mean 1;
- promotion uplift ``1 + beta_own * (d - b) + beta_breadth * b`` (at least ``MIN_UPLIFT``):
  ``d`` the key's discount that day, ``b`` the promotion's *breadth*, the mean discount over the
  location's keys that day. A discount on one category draws demand from the others (share
  shift); a discount on everything has nothing to draw from, so it lifts each product less. Both
  coefficients (>= 0) by Poisson maximum likelihood on uncensored days at locations running a
  promotion, given the expected demand without it; a ridge pulls ``beta_breadth`` towards
  ``beta_own`` until the history holds broad promotions to learn it from;
- level per key: exponentially weighted (half-life ``HALF_LIFE_DAYS``) mean of the
  deseasonalised demand (demand / weekday factor / uplift), as an empirical-Bayes gamma-Poisson
  posterior mean: the prior mean is ``product rate x location rate / mean rate`` (product and
  location independent), the prior shape is estimated by moments from how much keys vary around
  it, so a key with three sales in sixty days borrows strength from the same product elsewhere
  and from the location's other products, and a busy key keeps its own rate. A key never in
  stock gets the prior;
- censored days (a stock-out limited sales): first left out, then (``CENSORED_EM_STEPS`` EM
  steps) put back at their expected demand given the model and what sold,
  ``E[D | D >= sold]`` under a Poisson with the model's mean (``conditional_mean``). Dropping
  them would bias levels down: a day that sold out usually sold a lot.

Estimates are rounded to ``DECIMALS`` places: parallel float sums differ in the last bits from
run to run, the published tables do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

KEY = ["product_id", "location_id"]

HALF_LIFE_DAYS = 28.0
PRIOR_DAYS = 14.0  # smoothing of the product and location rates of the prior
PROFILE_PRIOR_UNITS = 200.0
PROMO_ITERATIONS = 3
NEWTON_STEPS = 25
UPLIFT_RIDGE = 1e-3
CENSORED_EM_STEPS = 2
# estimates are rounded: parallel float sums differ in the last bits from run to run
DECIMALS = 9
EMPIRICAL_BAYES = True
MIN_PRIOR_SHAPE = 0.05
MAX_PRIOR_SHAPE = 1000.0


@dataclass(frozen=True)
class Profile:
    dow: pl.DataFrame  # location_id, dow (1..7), dow_factor
    beta: tuple[float, float]  # uplift per point of (own - breadth, breadth) discount
    level: pl.DataFrame  # product_id, location_id, level (deseasonalised units/day)
    last: object  # the last date of the history (datetime.date)


BREADTH = "_breadth"
MIN_UPLIFT = 0.05


def with_breadth(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` plus ``_breadth``: the mean discount over the location's keys that day (the
    frame must hold every key of the location; kept when already there)."""
    if BREADTH in frame.columns:
        return frame
    return frame.with_columns(pl.col("discount_pct").fill_null(0.0).mean()
                              .over("location_id", "date").alias(BREADTH))


def _uplift(beta: tuple[float, float]) -> pl.Expr:
    d = pl.col("discount_pct").fill_null(0.0)
    b = pl.col(BREADTH).fill_null(0.0)
    return (1.0 + beta[0] * (d - b) + beta[1] * b).clip(lower_bound=MIN_UPLIFT)


def _weights(last, half_life: float) -> pl.Expr:
    age = (pl.lit(last) - pl.col("date")).dt.total_days().cast(pl.Float64)
    return (0.5 ** (age / half_life)) if half_life > 0 else pl.lit(1.0)


def _dow_factors(obs: pl.DataFrame, beta: tuple[float, float]) -> pl.DataFrame:
    """Weekday profile per location from uncensored days (promotion days deflated by the
    uplift), shrunk towards the pooled profile of all locations."""
    d = obs.with_columns((pl.col("demand") / _uplift(beta)).alias("_y"),
                         pl.col("date").dt.weekday().alias("dow"))
    # per location and weekday: mean demand per key-day; ratios to the location's mean
    per = d.group_by("location_id", "dow").agg(pl.col("_y").sum().alias("_u"),
                                              pl.len().alias("_n"))
    loc = per.group_by("location_id").agg((pl.col("_u").sum() / pl.col("_n").sum()).alias("_m"),
                                          pl.col("_u").sum().alias("_units"))
    pooled = (per.group_by("dow").agg(pl.col("_u").sum(), pl.col("_n").sum())
              .with_columns((pl.col("_u") / pl.col("_n")).alias("_p")))
    pm = pooled["_u"].sum() / max(pooled["_n"].sum(), 1)
    pooled = pooled.select("dow", (pl.col("_p") / pm if pm > 0 else pl.lit(1.0)).alias("_pool"))
    out = (per.join(loc, on="location_id").join(pooled, on="dow", how="left")
           .with_columns(pl.when(pl.col("_m") > 0).then(pl.col("_u") / pl.col("_n") / pl.col("_m"))
                         .otherwise(1.0).alias("_raw"),
                         (pl.col("_units") / (pl.col("_units") + PROFILE_PRIOR_UNITS)).alias("_w"))
           .with_columns((pl.col("_w") * pl.col("_raw")
                          + (1 - pl.col("_w")) * pl.col("_pool").fill_null(1.0))
                         .alias("dow_factor")))
    # every location x weekday present (a location that never sold on a weekday: the pool)
    grid = (obs.select("location_id").unique()
            .join(pl.DataFrame({"dow": list(range(1, 8))}, schema={"dow": pl.Int8}),
                  how="cross"))
    out = (grid.join(out.select("location_id", pl.col("dow").cast(pl.Int8), "dow_factor"),
                     on=["location_id", "dow"], how="left")
           .join(pooled.select(pl.col("dow").cast(pl.Int8), "_pool"), on="dow", how="left")
           .with_columns(pl.coalesce("dow_factor", "_pool", pl.lit(1.0)).alias("dow_factor")))
    # renormalise each location's factors to mean 1
    return out.with_columns(
        (pl.col("dow_factor") / pl.col("dow_factor").mean().over("location_id"))
        .fill_nan(1.0).alias("dow_factor")).select("location_id", "dow", "dow_factor")


def _levels(hist: pl.DataFrame, obs: pl.DataFrame, dow: pl.DataFrame,
            beta: tuple[float, float], last,
            half_life: float, prior_days: float) -> pl.DataFrame:
    """Level per key (deseasonalised units/day), shrunk towards product rate x location
    share."""
    keys = hist.select(KEY).unique()
    if obs.is_empty():
        return keys.with_columns(pl.lit(0.0).alias("level"))
    d = (obs.with_columns(pl.col("date").dt.weekday().alias("dow"))
         .join(dow, on=["location_id", "dow"], how="left")
         .with_columns((pl.col("demand") / (pl.col("dow_factor").fill_null(1.0) * _uplift(beta)))
                       .alias("_y"), _weights(last, half_life).alias("_w"))
         .sort(*KEY, "date"))
    # sorted: float sums follow row order, and joins and group_by return rows in any order
    # (a level that moves in its last bits moves the promotion uplift fitted on it)
    per = d.group_by(KEY, maintain_order=True).agg((pl.col("_y") * pl.col("_w")).sum().alias("_yw"),
                              pl.col("_w").sum().alias("_ww"),
                              pl.col("_y").sum().alias("_ys"), pl.len().alias("_n")).sort(KEY)
    # prior: independence of product and location (row total x column total / grand total)
    total = per["_ys"].sum()
    days = per["_n"].sum()
    prod = per.group_by("product_id").agg(pl.col("_ys").sum().alias("_pu"),
                                          pl.col("_n").sum().alias("_pn"))
    loc = per.group_by("location_id").agg(pl.col("_ys").sum().alias("_lu"),
                                           pl.col("_n").sum().alias("_ln"))
    n_loc = max(loc.height, 1)
    mean_rate = total / days if days else 0.0
    prior = (keys.join(prod, on="product_id", how="left").join(loc, on="location_id", how="left")
             .with_columns(
                 # product rate per key-day x the location's rate relative to the mean rate
                 ((pl.col("_pu").fill_null(0.0) + mean_rate * prior_days)
                  / (pl.col("_pn").fill_null(0) + prior_days)).alias("_prate"),
                 ((pl.col("_lu").fill_null(0.0) + mean_rate * prior_days * n_loc)
                  / (pl.col("_ln").fill_null(0) + prior_days * n_loc)).alias("_lrate"))
             .with_columns((pl.col("_prate") * pl.col("_lrate")
                            / (mean_rate if mean_rate > 0 else 1.0)).alias("_prior"))
             .select(*KEY, "_prior"))
    k = prior.join(per, on=KEY, how="left").with_columns(pl.col("_ys", "_yw", "_ww")
                                                         .fill_null(0.0),
                                                         pl.col("_n").fill_null(0)).sort(KEY)
    if not EMPIRICAL_BAYES:
        return k.select(*KEY, ((pl.col("_yw") + prior_days * pl.col("_prior"))
                               / (pl.col("_ww") + prior_days)).alias("level"))
    # empirical Bayes: rate = prior x Gamma(a, a); a by moments, Var(sum) = mu + mu^2 / a
    mu = pl.col("_n") * pl.col("_prior")
    m = k.select((((pl.col("_ys") - mu) ** 2 - pl.col("_ys")).sum()).alias("num"),
                 (mu ** 2).sum().alias("den")).row(0, named=True)
    inv_a = m["num"] / m["den"] if m["den"] else 0.0
    shape = 1.0 / min(max(inv_a, 1.0 / MAX_PRIOR_SHAPE), 1.0 / MIN_PRIOR_SHAPE)
    return k.select(*KEY, pl.when(pl.col("_prior") > 0)
                    .then((pl.col("_yw") + shape)
                          / (pl.col("_ww") + shape / pl.col("_prior")))
                    .otherwise(pl.when(pl.col("_ww") > 0).then(pl.col("_yw") / pl.col("_ww"))
                               .otherwise(0.0)).alias("level"))


def _fit_uplift(rows: pl.DataFrame, beta: tuple[float, float]) -> tuple[float, float]:
    """Poisson maximum likelihood of ``beta`` given the expected demand without promotion
    (``_b``) of uncensored key-days on days with a promotion at their location: Newton steps,
    a ridge pulling the breadth coefficient towards the own one (no evidence about broad
    promotions: assume they lift like narrow ones), both at least 0."""
    rows = rows.sort(*KEY, "date")  # joins return rows in any order; float sums follow it
    y = rows["demand"].to_numpy()
    b = rows["_b"].to_numpy()
    d = rows["discount_pct"].to_numpy()
    br = rows[BREADTH].to_numpy()
    keep = b > 0
    y, b, x = y[keep], b[keep], np.column_stack([d[keep] - br[keep], br[keep]])
    if len(y) == 0:
        return beta
    theta = np.array(beta, dtype=float)
    info = (b[:, None] * x) ** 2
    ridge = UPLIFT_RIDGE * float(info.sum(axis=0).max())
    pen = np.array([[1.0, -1.0], [-1.0, 1.0]]) * ridge
    for _ in range(NEWTON_STEPS):
        u = np.maximum(1.0 + x @ theta, MIN_UPLIFT)
        mu = b * u
        bx = b[:, None] * x
        grad = bx.T @ (y / mu - 1.0) - pen @ theta
        hess = -(bx * (y / mu ** 2)[:, None]).T @ bx - pen
        try:
            step = np.linalg.solve(hess, -grad)
        except np.linalg.LinAlgError:
            break
        theta = np.maximum(theta + step, 0.0)
        if np.abs(step).max() < 1e-6:
            break
    return float(theta[0]), float(theta[1])


def fit_profile(history: pl.DataFrame, half_life: float = HALF_LIFE_DAYS,
                prior_days: float = PRIOR_DAYS) -> Profile:
    """Fit weekday profiles, the promotion uplift and key levels on uncensored days."""
    last = history["date"].max()
    obs = (with_breadth(history).filter(~pl.col("censored"))
           .select(*KEY, "date", "demand", "discount_pct", BREADTH))
    beta = (0.0, 0.0)
    dow = _dow_factors(obs.filter(pl.col(BREADTH) == 0), beta)
    level = _levels(history, obs, dow, beta, last, half_life, prior_days)
    promo = obs.filter(pl.col(BREADTH) > 0)
    if promo.height:
        for _ in range(PROMO_ITERATIONS):
            base = (promo.with_columns(pl.col("date").dt.weekday().alias("dow"))
                    .join(dow, on=["location_id", "dow"], how="left")
                    .join(level, on=KEY, how="left")
                    .with_columns((pl.col("level").fill_null(0.0)
                                   * pl.col("dow_factor").fill_null(1.0)).alias("_b")))
            beta = _fit_uplift(base, beta)
            level = _levels(history, obs, dow, beta, last, half_life, prior_days)
    profile = Profile(dow=dow, beta=beta, level=level, last=last)
    censored = history.filter(pl.col("censored"))
    if CENSORED_EM_STEPS and censored.height:
        # a stock-out day is a censored observation, not a missing one: demand was at least
        # what sold (a day that sold out usually sold much). EM: levels over every day, the
        # censored ones at their expected demand given the model and what sold
        full = with_breadth(history)
        unc = full.filter(~pl.col("censored")).select(*KEY, "date", "demand", "discount_pct",
                                                      BREADTH)
        cen = full.filter(pl.col("censored")).select(*KEY, "date", "sold", "discount_pct",
                                                     BREADTH)
        for _ in range(CENSORED_EM_STEPS):
            e = expected_demand(cen, profile)
            filled = e.with_columns(pl.Series(
                "demand", conditional_mean(e["expected"].to_numpy(), e["sold"].to_numpy()),
                pl.Float64)).select(unc.columns)
            level = _levels(history, pl.concat([unc, filled]), dow, beta, last, half_life,
                            prior_days)
            profile = Profile(dow=dow, beta=beta, level=level, last=last)
    return profile


def conditional_mean(mean: np.ndarray, at_least: np.ndarray) -> np.ndarray:
    """``E[D | D >= at_least]`` for ``D`` Poisson with ``mean``: ``mean * P(D >= s - 1) /
    P(D >= s)`` (``mean`` when nothing sold; ``at_least`` when the mean is 0)."""
    from scipy import stats

    mean = np.asarray(mean, dtype=float)
    s = np.asarray(at_least, dtype=float)
    out = np.maximum(mean, s)
    pos = (mean > 0) & (s > 0)
    if pos.any():
        num = stats.poisson.sf(s[pos] - 2, mean[pos])
        den = stats.poisson.sf(s[pos] - 1, mean[pos])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(den > 1e-300, mean[pos] * num / den, s[pos])
        out[pos] = np.maximum(ratio, s[pos])
    return out


def seasonal_factor(frame: pl.DataFrame, profile: Profile) -> pl.DataFrame:
    """``frame`` (``location_id, date, discount_pct``, every key of its locations) plus
    ``factor``: weekday factor x promotion uplift (1 for a location the profile never saw)."""
    drop = [] if BREADTH in frame.columns else [BREADTH]
    return (with_breadth(frame).with_columns(pl.col("date").dt.weekday().alias("_dow"))
            .join(profile.dow.rename({"dow": "_dow"}), on=["location_id", "_dow"], how="left")
            .with_columns((pl.col("dow_factor").fill_null(1.0) * _uplift(profile.beta))
                          .alias("factor"))
            .drop("_dow", "dow_factor", *drop))


def expected_demand(frame: pl.DataFrame, profile: Profile) -> pl.DataFrame:
    """``frame`` plus ``expected``: level x weekday factor x promotion uplift."""
    f = seasonal_factor(frame, profile).join(profile.level, on=KEY, how="left")
    return f.with_columns((pl.col("level").fill_null(0.0) * pl.col("factor"))
                          .alias("expected")).drop("level", "factor")


def impute(history: pl.DataFrame, profile: Profile | None = None) -> pl.DataFrame:
    """``demand`` = ``sold`` on uncensored days, ``max(sold, expected)`` on censored ones."""
    if history.is_empty():
        return history
    profile = profile or fit_profile(history)
    e = expected_demand(history.select(*KEY, "date", "discount_pct"), profile)
    h = history.join(e.select(*KEY, "date", "expected"), on=[*KEY, "date"], how="left")
    filled = conditional_mean(h["expected"].fill_null(0.0).to_numpy(),
                              h["sold"].cast(pl.Float64).to_numpy())
    return (h.with_columns(pl.Series("_filled", filled, pl.Float64))
            .with_columns(pl.when(pl.col("censored")).then(pl.col("_filled").round(DECIMALS))
                          .otherwise(pl.col("sold").cast(pl.Float64)).alias("demand"))
            .drop("expected", "_filled").sort(*KEY, "date"))
