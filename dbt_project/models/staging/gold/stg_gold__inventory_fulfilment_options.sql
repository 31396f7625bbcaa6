-- Warehouses that can ship a product to a shipping zone, per service, ranked as routed.
select
    product_id,
    zone,
    location_id,
    service,
    sellable,
    shipping_cost,
    transit_days,
    backlog_orders,
    ship_capacity_per_day,
    dispatch_in_days,
    delivery_days,
    rank as fulfilment_rank
from {{ source('gold', 'inventory_fulfilment_options') }}
