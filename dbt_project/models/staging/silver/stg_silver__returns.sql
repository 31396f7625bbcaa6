select
    return_id,
    order_id,
    channel,
    product_id,
    quantity,
    reason,
    disposition,
    location_id,
    event_time as returned_at,
    cast(event_time as date) as return_date,
    refund_amount
from {{ source('silver', 'returns') }}
