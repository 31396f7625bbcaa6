-- Current stock per product and location (folded from the event-sourced ledger), with
-- sales velocity and days of cover.
with positions as (
    select * from {{ ref('stg_gold__inventory_positions') }}
),

days_of_cover as (
    select * from {{ ref('stg_gold__inventory_days_of_cover') }}
)

select
    p.product_id || '@' || p.location_id as position_key,
    p.product_id,
    p.location_id,
    p.on_hand,
    p.reserved,
    p.available_to_promise,
    p.available_to_promise = 0 as is_out_of_stock,
    p.last_event_time,
    p.last_count_time,
    p.ledger_events,
    p.shrinkage,
    p.inbound,
    p.next_expected_date,
    p.in_transit_out,
    p.at_risk,
    d.in_stock_days,
    d.velocity,
    d.days_of_cover
from positions as p
left join days_of_cover as d
    on d.product_id = p.product_id and d.location_id = p.location_id
