{{ config(
    materialized='incremental',
    unique_key='order_line_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ rebuild_on_sql_change() }}",
    post_hook=["{{ delete_vanished('order_line_id', ref('int_order_lines__unioned')) }}",
               "{{ record_sql_state() }}"]
) }}
-- One row per order line (shop lines and till lines), with its product and its order's person.
with order_lines as (
    select * from {{ ref('int_order_lines__unioned') }}
),

orders as (
    select * from {{ ref('int_orders__unioned') }}
),

record_persons as (
    select * from {{ ref('int_identity__record_persons') }}
),

order_persons as (
    select
        o.order_id,
        o.identity_source,
        o.identity_record_hash,
        p.person_id
    from orders as o
    left join record_persons as p
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
    from order_lines as l
    left join order_persons as o on o.order_id = l.order_id
)

{{ incremental_changes('linked', 'order_line_id') }}
