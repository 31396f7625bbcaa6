select
    product_id,
    location_id,
    in_stock_days,
    velocity,
    days_of_cover
from {{ source('gold', 'inventory_days_of_cover') }}
