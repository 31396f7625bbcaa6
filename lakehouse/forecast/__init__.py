"""Demand forecasting per product x location (and per channel), daily, with prediction
intervals, trained on demand rather than on sales depressed by stock-outs.

Usage::

    from lakehouse.forecast import backtest, demand_history, forecast, publish_forecast, rollup

    history = demand_history(home)              # validated tables; censored days imputed
    fc = forecast(history, horizon=28)          # the default model, 80% and 95% intervals
    per_channel = rollup(fc, locations)         # locations: silver/locations (code, type)
    accuracy = backtest(history, truth)         # rolling origin, MASE / WAPE / biases
    publish_forecast(home)                      # gold demand_forecast + forecast_accuracy

- ``demand_history(home, as_of=None)``: ``product_id, location_id, date, sold, in_stock,
  censored, demand, discount_pct, price`` (history.py: what counts as sold, when a day is
  censored and how its demand is estimated);
- ``forecast(history, horizon=28, levels=(80, 95), model=None, future=None)``: ``product_id,
  location_id, date, model, mean, lo_L, hi_L`` (models.py: the models, the intervals);
  ``future_discounts(home, keys, start, end)`` gives ``future``, the promotions planned;
- ``rollup(forecast, locations)``: per product x channel (``store`` / ``online``) x date
  (rollup.py: the channel rule and the interval approximation);
- ``backtest(history, truth=None, origins=3, horizon=7, models=None)``: one row per model and
  origin plus an ``origin``-null summary per model: ``mase, wape, bias, bias_promo,
  bias_after_stockout, n_series`` (backtest.py: definitions);
- ``publish_forecast(home)``: the nightly step (publish.py).
"""

from lakehouse.forecast.backtest import ACCURACY_SCHEMA, backtest
from lakehouse.forecast.history import HISTORY_SCHEMA, demand_history, future_discounts
from lakehouse.forecast.models import DEFAULT_MODEL, DEFAULT_MODELS, MODELS, forecast
from lakehouse.forecast.publish import choose, publish_forecast
from lakehouse.forecast.rollup import rollup

__all__ = [
    "ACCURACY_SCHEMA", "DEFAULT_MODEL", "DEFAULT_MODELS", "HISTORY_SCHEMA", "MODELS",
    "backtest", "choose", "demand_history", "forecast", "future_discounts", "publish_forecast",
    "rollup",
]
