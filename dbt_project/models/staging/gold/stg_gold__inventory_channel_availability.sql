-- What each sales channel may sell per product and location it sells from.
select
    product_id,
    channel,
    location_id,
    on_hand,
    reserved,
    available_to_promise,
    at_risk,
    sellable
from {{ source('gold', 'inventory_channel_availability') }}
