{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lake_files_follow_gone('interaction_source', {'clickstream': ref('stg_silver__clickstream_events'), 'email': ref('stg_silver__email_events')}) }}",
    post_hook="{{ record_lake_files_follow_state({'clickstream': ref('stg_silver__clickstream_events'), 'email': ref('stg_silver__email_events')}) }}"
) }}
{% set branches = {'clickstream': ref('stg_silver__clickstream_events'), 'email': ref('stg_silver__email_events')} %}
-- Every touch a person (or an anonymous visitor) had with the retailer, in one shape:
-- web/app events, e-mail opens / clicks / unsubscribes, ad clicks and store visits (one per
-- till transaction). Each carries the identity record it belongs to; an ad click borrows the
-- record of the web/app visitor whose visit carried its click id.
-- Web/app and e-mail rows keep their staging row's lake file: an incremental build reads only
-- the staging rows of files it holds no row of (macros/lake_files.sql); ad clicks and store
-- visits (a join, an order's totals) are rebuilt in full every build.
with clickstream_events as (
    select * from {{ ref('stg_silver__clickstream_events') }}
),

email_events as (
    select * from {{ ref('stg_silver__email_events') }}
),

ad_clicks as (
    select * from {{ ref('stg_silver__ad_clicks') }}
),

orders as (
    select * from {{ ref('int_orders__unioned') }}
),

clickstream as (
    select
        'clickstream:' || event_id as interaction_id,
        'clickstream' as interaction_source,
        channel,
        event_type as interaction_type,
        occurred_at,
        event_date as interaction_date,
        identity_source,
        identity_record_hash,
        session_key,
        session_id,
        product_id,
        order_id,
        campaign_id,
        cast(null as varchar) as location_id,
        search_query,
        page,
        quantity,
        cast(null as double) as amount,
        _batch_id,
        _ingested_at,
        _lake_file
    from clickstream_events
    where {{ lake_files_follow_unread('interaction_source', 'clickstream', branches) }}
),

email as (
    select
        'email:' || event_id as interaction_id,
        'email' as interaction_source,
        'email' as channel,
        'email_' || event_type as interaction_type,
        occurred_at,
        event_date as interaction_date,
        identity_source,
        identity_record_hash,
        cast(null as varchar) as session_key,
        cast(null as varchar) as session_id,
        cast(null as varchar) as product_id,
        cast(null as varchar) as order_id,
        campaign_id,
        cast(null as varchar) as location_id,
        cast(null as varchar) as search_query,
        url as page,
        cast(null as bigint) as quantity,
        cast(null as double) as amount,
        _batch_id,
        _ingested_at,
        _lake_file
    from email_events
    where event_type in ('open', 'click', 'unsubscribe')
        and {{ lake_files_follow_unread('interaction_source', 'email', branches) }}
),

-- the click's first visit (events at the same time: the smallest event id)
click_visitors as (
    select
        click_id,
        arg_min(identity_source, (occurred_at, event_id)) as identity_source,
        arg_min(identity_record_hash, (occurred_at, event_id)) as identity_record_hash,
        arg_min(session_key, (occurred_at, event_id)) as session_key,
        arg_min(session_id, (occurred_at, event_id)) as session_id
    -- the staging model itself, not the CTE: a CTE read twice is materialised whole (every
    -- column of every event, 2.2 GB at 10M), and an incremental build reads few of its rows
    from {{ ref('stg_silver__clickstream_events') }}
    where click_id is not null
    group by click_id
),

ads as (
    select
        'ads:' || a.click_id as interaction_id,
        'ads' as interaction_source,
        'ads' as channel,
        'ad_click' as interaction_type,
        a.occurred_at,
        a.event_date as interaction_date,
        v.identity_source,
        v.identity_record_hash,
        v.session_key,
        v.session_id,
        cast(null as varchar) as product_id,
        cast(null as varchar) as order_id,
        a.campaign_id,
        cast(null as varchar) as location_id,
        cast(null as varchar) as search_query,
        a.landing_page as page,
        cast(null as bigint) as quantity,
        a.cost as amount,
        a._batch_id,
        a._ingested_at,
        cast(null as varchar) as _lake_file
    from ad_clicks as a
    left join click_visitors as v on v.click_id = a.click_id
),

store as (
    select
        'pos:' || order_id as interaction_id,
        'pos' as interaction_source,
        'store' as channel,
        'store_visit' as interaction_type,
        ordered_at as occurred_at,
        order_date as interaction_date,
        identity_source,
        identity_record_hash,
        cast(null as varchar) as session_key,
        cast(null as varchar) as session_id,
        cast(null as varchar) as product_id,
        order_id,
        cast(null as varchar) as campaign_id,
        location_id,
        cast(null as varchar) as search_query,
        cast(null as varchar) as page,
        units as quantity,
        net_revenue as amount,
        _batch_id,
        _ingested_at,
        cast(null as varchar) as _lake_file
    from orders
    where order_source = 'pos'
)

select * from clickstream
union all by name
select * from email
union all by name
select * from ads
union all by name
select * from store
