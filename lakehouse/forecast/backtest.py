"""Rolling-origin backtests: every model forecasts from several past origins and is scored on
the days that followed, against the simulator's true demand when given, else against observed
demand on uncensored days.

Origins: the last ``origins`` dates ``last - k * horizon`` (k = origins .. 1) of the history; at
each, the history is cut at the origin and imputed again from what was known then (censored
days re-estimated from the days before the origin only), every model forecasts ``horizon`` days,
and the keys active at the origin are scored on them.

Metrics, per model and origin (``origin`` null: every origin pooled):

- ``mase``: mean absolute error over the mean absolute error of the in-sample seasonal naive
  forecast (season 7) on the training demand, pooled over series: ``sum_s MAE_s / sum_s
  scale_s`` (a per-series mean of ratios is dominated by the sparsest series, whose in-sample
  scale is a sale or two, and rewards forecasting zero); series whose training scale is 0 (no
  demand, or a perfectly weekly one) are left out;
- ``wape``: ``sum |forecast - actual| / sum actual`` over every scored key-day;
- ``bias``: ``sum (forecast - actual) / sum actual`` (positive: over-forecast);
- ``bias_promo``: the same over key-days with a promotion;
- ``bias_after_stockout``: the same over the key-days of keys that had a censored day in the
  week up to the origin (the forecasts a stock-out could have depressed);
- ``n_series``: series scored in ``mase``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from lakehouse.forecast.models import DEFAULT_MODELS, MODELS, point_forecasts
from lakehouse.forecast.profile import DECIMALS, fit_profile, impute

KEY = ["product_id", "location_id"]
SEASON = 7
STOCKOUT_LOOKBACK_DAYS = 7

ACCURACY_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(), "origin": pl.Date(), "mase": pl.Float64(), "wape": pl.Float64(),
    "bias": pl.Float64(), "bias_promo": pl.Float64(), "bias_after_stockout": pl.Float64(),
    "n_series": pl.Int64(),
}


def origins_of(history: pl.DataFrame, origins: int, horizon: int) -> list:
    last = history["date"].max()
    first = history["date"].min()
    out = [last - timedelta(days=horizon * k) for k in range(origins, 0, -1)]
    # an origin needs a few weeks behind it
    return [o for o in out if (o - first).days >= 2 * SEASON]


def cut(history: pl.DataFrame, origin) -> pl.DataFrame:
    """The history as known at ``origin``: days up to it, censored days imputed again from
    them alone."""
    train = history.filter(pl.col("date") <= origin).with_columns(
        pl.col("sold").cast(pl.Float64).alias("demand"))
    return impute(train)


def _scale(train: pl.DataFrame) -> pl.DataFrame:
    return (train.sort(*KEY, "date")
            .with_columns((pl.col("demand") - pl.col("demand").shift(SEASON).over(KEY)).abs()
                          .alias("_e"))
            .group_by(KEY).agg(pl.col("_e").mean().fill_null(0.0).alias("scale")))


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def _metrics(scored: pl.DataFrame, models: Sequence[str]) -> list[dict]:
    """One dict per model over ``scored`` (``actual``, a column per model, ``scale``,
    ``promo``, ``after_stockout``, key and origin columns)."""
    rows = []
    for m in models:
        e = scored.select(*KEY, "origin", "actual", "scale", "promo", "after_stockout",
                          (pl.col(m) - pl.col("actual")).alias("_err"))
        per = (e.group_by(*KEY, "origin")
               .agg(pl.col("_err").abs().mean().alias("_mae"), pl.col("scale").first())
               .filter(pl.col("scale") > 0))
        s = e.select(
            pl.col("_err").abs().sum().alias("abs"), pl.col("_err").sum().alias("err"),
            pl.col("actual").sum().alias("act"),
            pl.col("_err").filter(pl.col("promo")).sum().alias("err_p"),
            pl.col("actual").filter(pl.col("promo")).sum().alias("act_p"),
            pl.col("_err").filter(pl.col("after_stockout")).sum().alias("err_s"),
            pl.col("actual").filter(pl.col("after_stockout")).sum().alias("act_s"),
        ).row(0, named=True)

        def r(a, b):  # rounded: parallel float sums differ in the last bits run to run
            return round(float(a) / float(b), DECIMALS) if b else None

        rows.append({
            "model": m,
            "mase": r(per["_mae"].sum(), per["scale"].sum()) if per.height else None,
            "wape": r(s["abs"], s["act"]), "bias": r(s["err"], s["act"]),
            "bias_promo": r(s["err_p"], s["act_p"]),
            "bias_after_stockout": r(s["err_s"], s["act_s"]),
            "n_series": per.height,
        })
    return rows


def scored_frame(history: pl.DataFrame, truth: pl.DataFrame | None, origins: int,
                 horizon: int, models: Sequence[str], n_jobs: int = 1) -> pl.DataFrame:
    """Every model's forecast next to the actual demand, per key, origin and day."""
    frames = []
    for origin in origins_of(history, origins, horizon):
        train = cut(history, origin)
        profile = fit_profile(train)
        wide, _ = point_forecasts(train, horizon, models, _future(history, origin, horizon),
                                  n_jobs, profile)
        window = history.filter((pl.col("date") > origin)
                                & (pl.col("date") <= origin + timedelta(days=horizon)))
        if truth is not None:
            act = (wide.select(*KEY, "date")
                   .join(truth.select(*KEY, pl.col("date").cast(pl.Date),
                                      pl.col("demanded").cast(pl.Float64).alias("actual")),
                         on=[*KEY, "date"], how="left")
                   .with_columns(pl.col("actual").fill_null(0.0)))
        else:  # observed demand on uncensored days; censored days are not scored
            act = window.filter(~pl.col("censored")).select(
                *KEY, "date", pl.col("sold").cast(pl.Float64).alias("actual"))
        recent = (train.filter(pl.col("date") > origin - timedelta(days=STOCKOUT_LOOKBACK_DAYS))
                  .group_by(KEY).agg(pl.col("censored").any().alias("after_stockout")))
        frames.append(
            wide.join(act, on=[*KEY, "date"], how="inner")
            .join(window.select(*KEY, "date", (pl.col("discount_pct") > 0).alias("promo")),
                  on=[*KEY, "date"], how="left")
            .join(_scale(train), on=KEY, how="left")
            .join(recent, on=KEY, how="left")
            .with_columns(pl.col("promo").fill_null(False),
                          pl.col("after_stockout").fill_null(False),
                          pl.col("scale").fill_null(0.0),
                          pl.lit(origin).alias("origin")))
    return pl.concat(frames) if frames else pl.DataFrame()


def _future(history: pl.DataFrame, origin, horizon: int) -> pl.DataFrame:
    """The promotion calendar of the days after ``origin`` (known ahead)."""
    return history.filter((pl.col("date") > origin)
                          & (pl.col("date") <= origin + timedelta(days=horizon))
                          & (pl.col("discount_pct") > 0)).select(*KEY, "date", "discount_pct")


def backtest(history: pl.DataFrame, truth: pl.DataFrame | None = None, origins: int = 3,
             horizon: int = 7, models: Sequence[str] | None = None,
             n_jobs: int = 1) -> pl.DataFrame:
    """Rolling-origin accuracy per model: one row per model and origin, and one per model with
    ``origin`` null over every origin; see the module docstring for the metrics."""
    models = tuple(models or DEFAULT_MODELS)
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}: one of {', '.join(MODELS)}")
    if history.is_empty():
        return pl.DataFrame(schema=ACCURACY_SCHEMA)
    scored = scored_frame(history, truth, origins, horizon, models, n_jobs)
    if scored.is_empty():
        return pl.DataFrame(schema=ACCURACY_SCHEMA)
    rows = []
    for origin in scored["origin"].unique().sort().to_list():
        for row in _metrics(scored.filter(pl.col("origin") == origin), models):
            rows.append({**row, "origin": origin})
    for row in _metrics(scored, models):
        rows.append({**row, "origin": None})
    return (pl.DataFrame(rows, schema=ACCURACY_SCHEMA)
            .select(list(ACCURACY_SCHEMA)))
