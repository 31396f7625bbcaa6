select
    model as forecast_model,
    origin as backtest_origin,
    mase,
    wape,
    bias,
    bias_promo,
    bias_after_stockout,
    n_series
from {{ source('gold', 'forecast_accuracy') }}
