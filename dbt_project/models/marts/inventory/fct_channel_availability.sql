-- What each sales channel may sell right now: one row per product, channel and location the
-- channel sells from (web and app: every warehouse, sharing one pool; a store: its own shelf).
with

availability as (
    select * from {{ ref('stg_gold__inventory_channel_availability') }}
),

final as (
    select
        product_id || '@' || channel || '@' || location_id as availability_key,
        product_id,
        channel,
        -- the sales channel as fct_orders names it: a store's tills are the store channel
        case when channel in ('web', 'app') then channel else 'store' end as sales_channel,
        location_id,
        on_hand,
        reserved,
        available_to_promise,
        at_risk,
        available_to_promise - sellable as held_back_units,
        sellable,
        sellable > 0 as is_sellable
    from availability
)

select * from final
