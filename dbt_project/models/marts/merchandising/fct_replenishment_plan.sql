-- The replenishment and transfer plan: one row per recommended order or transfer, with the
-- product, the destination and the source named, and the total expected cost of the action.
with plan as (
    select * from {{ ref('stg_gold__replenishment_recommendations') }}
),

products as (
    select product_id, category from {{ ref('dim_products') }}
)

select
    plan.product_id || '@' || plan.location_id || '@' || plan.action || '@' || plan.source_id
        || '@' || cast(plan.order_date as varchar) as action_key,
    plan.product_id,
    products.category,
    plan.location_id,
    plan.action,
    plan.source_id,
    plan.quantity,
    plan.order_date,
    plan.expected_arrival,
    plan.order_date = plan.planned_as_of as is_due_now,
    plan.reorder_point,
    plan.order_up_to,
    plan.expected_lost_units,
    plan.quantity * plan.unit_cost as purchase_value,
    plan.order_cost + plan.shipping_cost + plan.holding_cost as expected_cost,
    plan.reason,
    plan.planned_as_of
from plan
left join products on plan.product_id = products.product_id
