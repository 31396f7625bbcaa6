{{ config(
    materialized='incremental',
    unique_key='order_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ rebuild_on_sql_change() }}",
    post_hook=["{{ delete_vanished('order_id', ref('int_orders__unioned')) }}",
               "{{ record_sql_state() }}"]
) }}
-- One row per order across web, app (shop orders) and store (till transactions), linked to
-- its person: person_id is null when the order's identity record is not resolved (a cash till
-- sale without loyalty card, or a record identity resolution has not seen yet) - anonymous.
with orders as (
    select * from {{ ref('int_orders__unioned') }}
),

record_persons as (
    select * from {{ ref('int_identity__record_persons') }}
),

linked as (
    select
        o.order_id,
        o.order_source,
        o.channel,
        o.location_id,
        o.ordered_at,
        o.order_date,
        o.financial_status,
        o.is_cancelled,
        o.currency,
        o.line_count,
        o.units,
        o.gross_revenue,
        o.discount_amount,
        o.net_revenue,
        o.reported_total,
        o.payment_type,
        p.person_id,
        p.person_id is null as is_anonymous,
        o.identity_source,
        o.identity_record_hash,
        o._batch_id,
        o._ingested_at
    from orders as o
    left join record_persons as p
        on p.identity_source = o.identity_source
        and p.identity_record_hash = o.identity_record_hash
)

{{ incremental_changes('linked', 'order_id') }}
