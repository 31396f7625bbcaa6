-- Shop order lines and till lines in one shape, each carrying its order's lineage so a
-- changed order re-processes all of its lines.
with order_lines as (
    select * from {{ ref('stg_silver__order_lines') }}
),

orders as (
    select * from {{ ref('stg_silver__orders') }}
),

till_lines as (
    select * from {{ ref('stg_silver__pos_transaction_lines') }}
),

shop as (
    select
        l.order_line_id,
        l.order_id,
        'shop' as order_source,
        o.channel,
        cast(null as varchar) as location_id,
        o.ordered_at,
        l.order_date,
        l.product_id,
        l.quantity,
        l.unit_price,
        l.discount_amount,
        l._batch_id,
        l._ingested_at
    from order_lines as l
    left join orders as o on o.order_id = l.order_id
),

store as (
    select
        transaction_line_id as order_line_id,
        transaction_id as order_id,
        'pos' as order_source,
        'store' as channel,
        location_id,
        occurred_at as ordered_at,
        event_date as order_date,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        _batch_id,
        _ingested_at
    from till_lines
),

unioned as (
    select * from shop
    union all by name
    select * from store
)

select
    *,
    quantity * unit_price as gross_revenue,
    quantity * unit_price - discount_amount as net_revenue
from unioned
