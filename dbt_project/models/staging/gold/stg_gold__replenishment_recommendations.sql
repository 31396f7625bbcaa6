select
    product_id,
    location_id,
    action,
    source_id,
    quantity,
    order_date,
    expected_arrival,
    reorder_point,
    order_up_to,
    expected_lost_units,
    unit_cost,
    order_cost,
    shipping_cost,
    holding_cost,
    reason,
    as_of as planned_as_of
from {{ source('gold', 'replenishment_recommendations') }}
