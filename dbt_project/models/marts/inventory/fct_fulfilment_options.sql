-- How each product can ship to each shipping zone right now: one row per product, zone,
-- service and warehouse able to ship one unit, with cost, queue and delivery days;
-- is_routed marks the option the order router takes.
with

options as (
    select * from {{ ref('stg_gold__inventory_fulfilment_options') }}
),

final as (
    select
        product_id || '@' || zone || '@' || service || '@' || location_id as fulfilment_option_key,
        product_id,
        zone,
        service,
        location_id,
        sellable,
        shipping_cost,
        transit_days,
        backlog_orders,
        ship_capacity_per_day,
        dispatch_in_days,
        delivery_days,
        fulfilment_rank,
        fulfilment_rank = 1 as is_routed
    from options
)

select * from final
