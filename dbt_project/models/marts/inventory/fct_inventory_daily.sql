-- End-of-day stock per product, location and day.
select
    product_id || '@' || location_id || '@' || cast(snapshot_date as varchar) as snapshot_key,
    product_id,
    location_id,
    snapshot_date,
    on_hand,
    reserved,
    available_to_promise,
    available_to_promise = 0 as is_out_of_stock
from {{ ref('stg_gold__inventory_daily') }}
