"""The nightly forecast: history, backtest, model choice, forecast, two gold tables.

``publish_forecast(home)`` builds the demand history from validated tables, backtests every
model of ``DEFAULT_MODELS`` (rolling origin, against the simulator's true demand when the home
has ``truth/demand_daily.parquet``, else against observed demand on uncensored days), chooses
the model (``choose``), forecasts ``HORIZON`` days with the promotions planned for them, and
replaces ``H/lake/gold/demand_forecast`` (the forecast columns plus ``as_of``, the history's last
day) and ``H/lake/gold/forecast_accuracy`` (the backtest rows).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import polars as pl

from lakehouse.forecast.backtest import ACCURACY_SCHEMA, backtest
from lakehouse.forecast.history import KEY, demand_history, future_discounts
from lakehouse.forecast.models import (
    BASELINE,
    DEFAULT_MODEL,
    DEFAULT_MODELS,
    forecast,
    forecast_schema,
)
from lakehouse.home import Home
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table

HORIZON = 28
LEVELS = (80, 95)
BACKTEST_ORIGINS = 3
BACKTEST_HORIZON = 7
# a model is eligible only when it is unbiased within this, overall and after stock-outs
BIAS_TOLERANCE = 0.10
# table -> what it holds, for the asset graph (columns: ``column_docs.py``)
DESCRIPTIONS: dict[str, str] = {
    "demand_forecast": "Daily demand per product x location for the next 28 days with 80% and "
    "95% prediction intervals, from the model that won the backtest; days a stock-out capped "
    "sales are censored and their demand imputed before training; planned promotions move it.",
    "forecast_accuracy": "Rolling-origin backtest of every candidate model against the seasonal "
    "naive baseline: MASE, WAPE, bias overall, on promotion days and on days after a stock-out "
    "(against the simulator's true demand on simulated homes, else observed uncensored demand).",
}


def choose(accuracy: pl.DataFrame, default: str = DEFAULT_MODEL) -> str:
    """The model with the lowest pooled MASE (``origin`` null rows) among those whose overall
    bias and bias after stock-outs are within ``BIAS_TOLERANCE`` (a missing figure does not
    disqualify), never the seasonal naive baseline; ``default`` when none qualifies."""
    summary = accuracy.filter(pl.col("origin").is_null() & pl.col("mase").is_not_null()
                              & (pl.col("model") != BASELINE))
    ok = summary.filter(
        (pl.col("bias").abs() <= BIAS_TOLERANCE).fill_null(True)
        & (pl.col("bias_after_stockout").abs() <= BIAS_TOLERANCE).fill_null(True))
    if ok.is_empty():
        return default
    return ok.sort("mase", "model")["model"][0]


def publish_forecast(home: Home | str | Path, models: tuple[str, ...] = DEFAULT_MODELS,
                     n_jobs: int = 1) -> dict:
    """Build, backtest, choose, forecast and write the two gold tables; a summary dict."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    started = time.perf_counter()
    history = demand_history(home)
    truth_path = home.truth / "demand_daily.parquet"
    truth = pl.read_parquet(truth_path) if truth_path.exists() else None
    accuracy = backtest(history, truth, origins=BACKTEST_ORIGINS, horizon=BACKTEST_HORIZON,
                        models=models, n_jobs=n_jobs)
    chosen = choose(accuracy)
    schema = {**forecast_schema(LEVELS), "as_of": pl.Date()}
    if history.is_empty():
        fc = pl.DataFrame(schema=schema)
        as_of = None
    else:
        as_of = history["date"].max()
        planned = future_discounts(home, history.select(KEY).unique(),
                                   as_of + timedelta(days=1), as_of + timedelta(days=HORIZON))
        fc = (forecast(history, HORIZON, LEVELS, chosen, future=planned, n_jobs=n_jobs)
              .with_columns(pl.lit(as_of, pl.Date).alias("as_of")))
    fc = fc.select(list(schema)).cast(schema)
    accuracy = accuracy.select(list(ACCURACY_SCHEMA)).cast(ACCURACY_SCHEMA)
    out: dict = {}
    for name, frame in (("demand_forecast", fc), ("forecast_accuracy", accuracy)):
        uri = table_uri(home, "gold", name)
        out[name] = {"uri": uri, "rows": frame.height, "version": replace_table(uri, frame)}
    out.update({
        "models": list(models),
        "chosen": chosen,
        "as_of": as_of,
        "seconds": round(time.perf_counter() - started, 3),
        "accuracy": accuracy.filter(pl.col("origin").is_null()).sort("mase").to_dicts(),
    })
    return out
