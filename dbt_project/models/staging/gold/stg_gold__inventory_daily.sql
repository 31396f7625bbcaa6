select
    product_id,
    location_id,
    date as snapshot_date,
    on_hand,
    reserved,
    available_to_promise
from {{ source('gold', 'inventory_daily') }}
