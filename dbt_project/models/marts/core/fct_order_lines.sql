{{ config(
    materialized='incremental',
    unique_key='order_line_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail'
) }}
-- One row per order line (shop lines and till lines), with its product and its order's person.
with orders as (
    select
        o.order_id,
        o.identity_source,
        o.identity_record_hash,
        p.person_id
    from {{ ref('int_orders__unioned') }} as o
    left join {{ ref('int_identity__record_persons') }} as p
        on p.identity_source = o.identity_source
        and p.identity_record_hash = o.identity_record_hash
),

linked as (
    select
        l.order_line_id,
        l.order_id,
        l.order_source,
        l.channel,
        l.location_id,
        l.ordered_at,
        l.order_date,
        l.product_id,
        l.quantity,
        l.unit_price,
        l.discount_amount,
        l.gross_revenue,
        l.net_revenue,
        o.person_id,
        l._batch_id,
        l._ingested_at
    from {{ ref('int_order_lines__unioned') }} as l
    left join orders as o on o.order_id = l.order_id
)

{{ incremental_changes('linked', 'order_line_id') }}
