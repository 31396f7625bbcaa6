{{ config(
    materialized='incremental',
    unique_key='interaction_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ rebuild_on_sql_change() }}",
    post_hook=["{{ delete_vanished('interaction_id', ref('int_interactions__unioned')) }}",
               "{{ record_sql_state() }}"]
) }}
-- Every touch: page and product views, carts, searches, logins, checkouts and purchases (web,
-- app), e-mail opens / clicks / unsubscribes, ad clicks and store visits, linked to person,
-- product, channel and session. person_id is null for touches whose identity record is not
-- resolved (anonymous).
with interactions as (
    select * from {{ ref('int_interactions__unioned') }}
),

record_persons as (
    select * from {{ ref('int_identity__record_persons') }}
),

linked as (
    select
        i.interaction_id,
        i.interaction_source,
        i.channel,
        i.interaction_type,
        i.occurred_at,
        i.interaction_date,
        p.person_id,
        p.person_id is null as is_anonymous,
        i.identity_source,
        i.identity_record_hash,
        i.session_key,
        i.session_id,
        i.product_id,
        i.order_id,
        i.campaign_id,
        i.location_id,
        i.search_query,
        i.page,
        i.quantity,
        i.amount,
        i._batch_id,
        i._ingested_at
    from interactions as i
    left join record_persons as p
        on p.identity_source = i.identity_source
        and p.identity_record_hash = i.identity_record_hash
)

{{ incremental_changes('linked', 'interaction_id') }}
