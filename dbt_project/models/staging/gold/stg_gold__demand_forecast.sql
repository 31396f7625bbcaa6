select
    product_id,
    location_id,
    date as forecast_date,
    model as forecast_model,
    mean as demand_mean,
    lo_80 as demand_lo_80,
    hi_80 as demand_hi_80,
    lo_95 as demand_lo_95,
    hi_95 as demand_hi_95,
    as_of as trained_through
from {{ source('gold', 'demand_forecast') }}
