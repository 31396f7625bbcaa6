"""The forecasting models and ``forecast``: daily demand per product x location, ``horizon`` days
ahead, with prediction intervals.

Models (``MODELS``; statsforecast's implementations unless said otherwise):

- ``seasonal_naive``: the same weekday last week (the baseline every model is measured
  against); ``naive``: the last day;
- ``historic_average``, ``window_average`` (last 28 days), ``ses`` (simple exponential
  smoothing, alpha fitted);
- intermittent-demand models: ``croston_sba`` (Croston, Syntetos-Boylan debiased), ``adida``
  (aggregate to the mean inter-demand interval, SES, disaggregate), ``imapa`` (ADIDA over
  several aggregation levels, averaged), ``tsb`` (Teunter-Syntetos-Babai: demand probability
  and size smoothed separately);
- ``auto_ets``: ETS with a weekly season, chosen by AICc (slow: not in the default set);
- ``dow_profile`` (ours, ``profile.py``): key level (exponentially weighted mean of uncensored
  days, shrunk towards product x location rates) x location weekday profile x promotion uplift.

Every statistical model except ``seasonal_naive`` and ``naive`` (the baselines, kept as
published) is fitted on the *deseasonalised* series, demand / (weekday factor x promotion
uplift) of the ``dow_profile`` fit, and its forecast is multiplied back by the factors of the
forecast days (promotions known ahead come in through ``future``): the intermittent-demand
models have no weekday season or regressors of their own, and this is the documented post-model
promotion uplift multiplier, estimated from history. Forecasts are clipped at 0; a key too short
for a model (NaN) takes the ``dow_profile`` value.

Intervals: demand on a day is negative binomial with the forecast mean and a dispersion
estimated per location by moments from the in-sample errors of the ``dow_profile`` fit
(``Var = mean + mean^2 / size``; Poisson when the errors show no over-dispersion). ``lo_L`` and
``hi_L`` are its ``(100 - L) / 2`` and ``(100 + L) / 2`` percentiles.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import polars as pl

from lakehouse.forecast.profile import (
    BREADTH,
    DECIMALS,
    Profile,
    expected_demand,
    fit_profile,
    seasonal_factor,
    with_breadth,
)

KEY = ["product_id", "location_id"]
DEFAULT_MODEL = "dow_profile"
BASELINE = "seasonal_naive"
SEASON = 7


def _sf_models() -> dict[str, Callable[[], object]]:
    from statsforecast.models import (
        ADIDA,
        IMAPA,
        TSB,
        AutoETS,
        CrostonSBA,
        HistoricAverage,
        Naive,
        SeasonalNaive,
        SimpleExponentialSmoothingOptimized,
        WindowAverage,
    )
    return {
        "seasonal_naive": lambda: SeasonalNaive(SEASON, alias="seasonal_naive"),
        "naive": lambda: Naive(alias="naive"),
        "historic_average": lambda: HistoricAverage(alias="historic_average"),
        "window_average": lambda: WindowAverage(28, alias="window_average"),
        "ses": lambda: SimpleExponentialSmoothingOptimized(alias="ses"),
        "croston_sba": lambda: CrostonSBA(alias="croston_sba"),
        "adida": lambda: ADIDA(alias="adida"),
        "imapa": lambda: IMAPA(alias="imapa"),
        "tsb": lambda: TSB(alpha_d=0.1, alpha_p=0.1, alias="tsb"),
        "auto_ets": lambda: AutoETS(season_length=SEASON, alias="auto_ets"),
    }


STATISTICAL = ("seasonal_naive", "naive", "historic_average", "window_average", "ses",
               "croston_sba", "adida", "imapa", "tsb", "auto_ets")
RAW = ("seasonal_naive", "naive")  # fitted on demand as it is (the baselines)
MODELS = (*STATISTICAL, "dow_profile")
# what backtests compare by default (auto_ets: slow and not better on intermittent series)
DEFAULT_MODELS = ("seasonal_naive", "naive", "historic_average", "window_average", "ses",
                  "croston_sba", "adida", "imapa", "tsb", "dow_profile")

FORECAST_SCHEMA: dict[str, pl.DataType] = {
    "product_id": pl.String(), "location_id": pl.String(), "date": pl.Date(),
    "model": pl.String(), "mean": pl.Float64(),
}


def forecast_schema(levels: Sequence[int]) -> dict[str, pl.DataType]:
    out = dict(FORECAST_SCHEMA)
    for lv in levels:
        out[f"lo_{lv}"] = pl.Float64()
        out[f"hi_{lv}"] = pl.Float64()
    return out


@dataclass(frozen=True)
class Fitted:
    """What every model of one forecast run shares: the profile and the future frame."""

    profile: Profile
    future: pl.DataFrame  # product_id, location_id, date, discount_pct, factor, expected


def _future_frame(history: pl.DataFrame, horizon: int, future: pl.DataFrame | None,
                  profile: Profile) -> pl.DataFrame:
    last = history["date"].max()
    days = pl.DataFrame({"date": pl.date_range(last + timedelta(days=1),
                                               last + timedelta(days=horizon), "1d",
                                               eager=True)})
    grid = history.select(KEY).unique().join(days, how="cross")
    if future is not None and future.height:
        disc = (future.select(*KEY, pl.col("date").cast(pl.Date),
                              pl.col("discount_pct").cast(pl.Float64))
                .group_by(*KEY, "date").agg(pl.col("discount_pct").max()))
        grid = grid.join(disc, on=[*KEY, "date"], how="left")
    else:
        grid = grid.with_columns(pl.lit(None, pl.Float64).alias("discount_pct"))
    grid = grid.with_columns(pl.col("discount_pct").fill_null(0.0))
    f = seasonal_factor(grid, profile)
    return (expected_demand(f.drop("factor"), profile)
            .join(f.select(*KEY, "date", "factor"), on=[*KEY, "date"])
            .sort(*KEY, "date"))


def _statsforecast(history: pl.DataFrame, names: Sequence[str], horizon: int,
                   profile: Profile, n_jobs: int) -> pl.DataFrame:
    """``product_id, location_id, date`` + one column per model: the statistical models'
    point forecasts (deseasonalised ones multiplied back later)."""
    from statsforecast import StatsForecast
    from statsforecast.models import NaNModel

    factories = _sf_models()
    keys = history.select(KEY).unique().sort(KEY).with_row_index("unique_id")
    base = history.join(keys, on=KEY).sort("unique_id", "date")
    out = None
    for raw, group in ((True, [n for n in names if n in RAW]),
                       (False, [n for n in names if n not in RAW])):
        if not group:
            continue
        if raw:
            y = base.select("unique_id", pl.col("date").alias("ds"), pl.col("demand").alias("y"))
        else:
            y = (seasonal_factor(base, profile)
                 .select("unique_id", pl.col("date").alias("ds"),
                         (pl.col("demand") / pl.col("factor")).alias("y")))
        # a model that cannot fit a series (AutoETS on a few days) gives NaN: the profile's
        # value takes its place below, as for the seasonal naive of a key younger than a week
        sf = StatsForecast(models=[factories[n]() for n in group], freq="1d", n_jobs=n_jobs,
                           fallback_model=NaNModel())
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Historical data .* shorter than")
            warnings.filterwarnings("ignore", category=RuntimeWarning)  # ETS on flat series
            raw_fc = sf.forecast(df=y, h=horizon)
        fc = pl.DataFrame(raw_fc).rename({"ds": "date"}).with_columns(
            pl.col("unique_id").cast(pl.UInt32), pl.col("date").cast(pl.Date))
        out = fc if out is None else out.join(fc, on=["unique_id", "date"])
    assert out is not None
    return out.join(keys, on="unique_id").drop("unique_id")


def point_forecasts(history: pl.DataFrame, horizon: int = 28,
                    models: Sequence[str] = (DEFAULT_MODEL,),
                    future: pl.DataFrame | None = None, n_jobs: int = 1,
                    profile: Profile | None = None) -> tuple[pl.DataFrame, Fitted]:
    """Wide point forecasts: ``product_id, location_id, date`` + one column per model."""
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}: one of {', '.join(MODELS)}")
    profile = profile or fit_profile(history)
    fut = _future_frame(history, horizon, future, profile)
    wide = fut.select(*KEY, "date", "factor", pl.col("expected").alias("_profile"))
    stat = [m for m in models if m in STATISTICAL]
    if stat:
        sf = _statsforecast(history, stat, horizon, profile, n_jobs)
        wide = wide.join(sf, on=[*KEY, "date"], how="left")
        wide = wide.with_columns([
            (pl.col(m) if m in RAW else pl.col(m) * pl.col("factor"))
            .fill_nan(None).fill_null(pl.col("_profile")).clip(lower_bound=0.0).alias(m)
            for m in stat])
    if "dow_profile" in models:
        wide = wide.with_columns(pl.col("_profile").clip(lower_bound=0.0).alias("dow_profile"))
    return wide.select(*KEY, "date", *models), Fitted(profile, fut)


# ---------------------------------------------------------------------------------------------
# intervals


def dispersion(history: pl.DataFrame, profile: Profile) -> pl.DataFrame:
    """``location_id, inv_size``: negative-binomial over-dispersion ``1/size`` per location, by
    moments from the in-sample errors of the profile fit on uncensored days
    (``sum((y - mu)^2 - mu) / sum(mu^2)``, at least 0)."""
    obs = (with_breadth(history).filter(~pl.col("censored"))
           .select(*KEY, "date", "demand", "discount_pct", BREADTH))
    e = expected_demand(obs, profile)
    return (e.group_by("location_id")
            .agg((((pl.col("demand") - pl.col("expected")) ** 2 - pl.col("expected")).sum()
                  / (pl.col("expected") ** 2).sum()).alias("inv_size"))
            .with_columns(pl.col("inv_size").fill_nan(0.0).fill_null(0.0)
                          .clip(lower_bound=0.0)))


def nb_quantiles(mean: np.ndarray, inv_size: np.ndarray, q: float) -> np.ndarray:
    """The ``q`` quantile of a negative binomial with ``mean`` and ``Var = mean + mean^2 *
    inv_size`` (Poisson where ``inv_size`` is 0)."""
    from scipy import stats

    mean = np.asarray(mean, dtype=float)
    inv = np.asarray(inv_size, dtype=float)
    out = np.zeros_like(mean)
    pos = mean > 0
    nb = pos & (inv > 1e-9)
    po = pos & ~nb
    if po.any():
        out[po] = stats.poisson.ppf(q, mean[po])
    if nb.any():
        n = 1.0 / inv[nb]
        p = n / (n + mean[nb])
        out[nb] = stats.nbinom.ppf(q, n, p)
    return out


def with_intervals(points: pl.DataFrame, disp: pl.DataFrame, levels: Sequence[int]
                   ) -> pl.DataFrame:
    """``points`` (``..., location_id, mean``) plus ``lo_L``/``hi_L`` for each level."""
    f = points.join(disp, on="location_id", how="left").with_columns(
        pl.col("inv_size").fill_null(0.0))
    mean, inv = f["mean"].to_numpy(), f["inv_size"].to_numpy()
    cols = []
    for lv in levels:
        if not 0 < lv < 100:
            raise ValueError(f"interval level {lv} must be between 0 and 100")
        lo = nb_quantiles(mean, inv, (100 - lv) / 200)
        hi = nb_quantiles(mean, inv, (100 + lv) / 200)
        cols += [pl.Series(f"lo_{lv}", lo, pl.Float64), pl.Series(f"hi_{lv}", hi, pl.Float64)]
    return f.drop("inv_size").with_columns(cols)


def forecast(history: pl.DataFrame, horizon: int = 28, levels: tuple[int, ...] = (80, 95),
             model: str | None = None, future: pl.DataFrame | None = None,
             n_jobs: int = 1) -> pl.DataFrame:
    """Daily demand forecasts for every key of ``history`` (``demand_history``'s frame), the
    ``horizon`` days after its last date: ``product_id, location_id, date, model, mean,
    lo_L, hi_L`` per level (units/day, >= 0). ``model`` None: ``DEFAULT_MODEL``. ``future``:
    ``product_id, location_id, date, discount_pct`` of promotions planned in the horizon
    (``future_discounts``); without it no promotion is assumed."""
    name = model or DEFAULT_MODEL
    schema = forecast_schema(levels)
    if history.is_empty() or horizon <= 0:
        return pl.DataFrame(schema=schema)
    profile = fit_profile(history)
    wide, _ = point_forecasts(history, horizon, (name,), future, n_jobs, profile)
    points = wide.select(*KEY, "date", pl.lit(name).alias("model"),
                         pl.col(name).cast(pl.Float64).round(DECIMALS).alias("mean"))
    out = with_intervals(points, dispersion(history, profile), levels)
    return out.select(list(schema)).cast(schema).sort(*KEY, "date")
