select
    shipment_id,
    order_id,
    location_id,
    carrier,
    service,
    zone,
    shipped_at,
    cast(shipped_at as date) as ship_date,
    promised_delivery,
    delivered_at,
    delivered_at is not null as is_delivered,
    cast(delivered_at as date) <= promised_delivery as is_on_time,
    date_diff('day', cast(shipped_at as date), cast(delivered_at as date)) as transit_days,
    cost,
    units
from {{ source('silver', 'shipments') }}
