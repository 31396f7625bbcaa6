-- Daily demand forecast per product, location and day ahead, with the channel the location
-- sells through (a store's shelf, or online from a warehouse) and the product's category and
-- price, so a planner can sum expected demand and revenue by channel or category.
with forecast as (
    select * from {{ ref('stg_gold__demand_forecast') }}
),

products as (
    select product_id, category, price from {{ ref('dim_products') }}
),

locations as (
    select location_id, location_type from {{ ref('dim_locations') }}
)

select
    forecast.product_id || '@' || forecast.location_id || '@'
        || cast(forecast.forecast_date as varchar) as forecast_key,
    forecast.product_id,
    forecast.location_id,
    case when locations.location_type = 'store' then 'store' else 'online' end as sales_channel,
    products.category,
    forecast.forecast_date,
    cast(forecast.forecast_date - forecast.trained_through as bigint) as days_ahead,
    forecast.forecast_model,
    forecast.demand_mean,
    forecast.demand_lo_80,
    forecast.demand_hi_80,
    forecast.demand_lo_95,
    forecast.demand_hi_95,
    forecast.demand_mean * products.price as expected_revenue_at_list_price,
    forecast.trained_through
from forecast
left join products on forecast.product_id = products.product_id
left join locations on forecast.location_id = locations.location_id
