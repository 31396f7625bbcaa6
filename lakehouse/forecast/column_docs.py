"""What the forecast tables' columns hold (``H/lake/gold/demand_forecast`` and
``H/lake/gold/forecast_accuracy``, written by ``publish.py``), for the catalogue and the
Dagster UI."""

from __future__ import annotations

DEMAND_FORECAST = {
    "product_id": "Canonical product.",
    "location_id": "Store or warehouse whose demand is forecast (a warehouse: the online orders "
    "it takes).",
    "date": "Business day forecast: the days after as_of, 28 of them.",
    "model": "Model that produced the row: the one the backtest chose (lowest pooled MASE "
    "among the models unbiased within 10% overall and after stock-outs).",
    "mean": "Expected units demanded that day (not capped by stock), >= 0.",
    "lo_80": "Lower end of the central 80% prediction interval (10th percentile of a negative "
    "binomial around mean), units.",
    "hi_80": "Upper end of the central 80% prediction interval (90th percentile), units.",
    "lo_95": "Lower end of the central 95% prediction interval (2.5th percentile), units.",
    "hi_95": "Upper end of the central 95% prediction interval (97.5th percentile), units.",
    "as_of": "Last business day of the history the forecast was made from (the last day every "
    "sales feed had reported past).",
}

FORECAST_ACCURACY = {
    "model": "Forecasting model backtested.",
    "origin": "Last day of history at this backtest origin; null: every origin pooled.",
    "mase": "Mean absolute error over the in-sample seasonal-naive (7-day) error, pooled over "
    "series (sum of MAEs over sum of scales); below 1 beats last week's same weekday in "
    "sample.",
    "wape": "Sum of absolute errors over the sum of actual demand.",
    "bias": "Sum of (forecast - actual) over the sum of actual demand; positive: over-forecast.",
    "bias_promo": "bias over the key-days with a promotion.",
    "bias_after_stockout": "bias over the key-days of keys that had a censored (stock-out) day "
    "in the week up to the origin.",
    "n_series": "Product x location series scored in mase (series with a zero in-sample scale "
    "are left out).",
}

# table -> column -> description
COLUMNS: dict[str, dict[str, str]] = {
    "demand_forecast": DEMAND_FORECAST,
    "forecast_accuracy": FORECAST_ACCURACY,
}
