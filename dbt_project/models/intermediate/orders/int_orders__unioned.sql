-- Shop orders (web, app) and till transactions (store) as one set of orders, with the
-- identity record each belongs to. Revenue comes from the lines: net = units x price - discount.
with orders as (
    select * from {{ ref('stg_silver__orders') }}
),

order_lines as (
    select * from {{ ref('stg_silver__order_lines') }}
),

till_lines as (
    select * from {{ ref('stg_silver__pos_transaction_lines') }}
),

shop_lines as (
    select
        order_id,
        count(*) as line_count,
        cast(sum(quantity) as bigint) as units,
        sum(quantity * unit_price) as gross_revenue,
        sum(discount_amount) as discount_amount
    from order_lines
    group by order_id
),

shop as (
    select
        o.order_id,
        'shop' as order_source,
        o.channel,
        cast(null as varchar) as location_id,
        o.ordered_at,
        o.order_date,
        o.financial_status,
        o.is_cancelled,
        o.currency,
        coalesce(l.line_count, 0) as line_count,
        coalesce(l.units, 0) as units,
        coalesce(l.gross_revenue, 0) as gross_revenue,
        coalesce(l.discount_amount, 0) as discount_amount,
        o.total_price as reported_total,
        cast(null as varchar) as payment_type,
        o.identity_source,
        o.identity_record_hash,
        o._batch_id,
        o._ingested_at
    from orders as o
    left join shop_lines as l on l.order_id = o.order_id
),

store as (
    select
        transaction_id as order_id,
        'pos' as order_source,
        'store' as channel,
        -- min, not any_value: a transaction's lines agree, and when they do not, every
        -- build picks the same one (so for the payment type)
        min(location_id) as location_id,
        min(occurred_at) as ordered_at,
        min(event_date) as order_date,
        'paid' as financial_status,
        false as is_cancelled,
        cast(null as varchar) as currency,
        count(*) as line_count,
        cast(sum(quantity) as bigint) as units,
        sum(quantity * unit_price) as gross_revenue,
        sum(discount_amount) as discount_amount,
        sum(quantity * unit_price) - sum(discount_amount) as reported_total,
        min(payment_type) as payment_type,
        case when bool_or(is_identified) then 'pos' end as identity_source,
        case when bool_or(is_identified) then pseudonymise(transaction_id) end
            as identity_record_hash,
        arg_max(_batch_id, _ingested_at) as _batch_id,
        max(_ingested_at) as _ingested_at
    from till_lines
    group by transaction_id
),

unioned as (
    select * from shop
    union all by name
    select * from store
)

select
    *,
    gross_revenue - discount_amount as net_revenue
from unioned
