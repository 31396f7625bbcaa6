{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lake_files_gone('silver', 'clickstream_events') }}",
    post_hook="{{ record_lake_files_state('silver', 'clickstream_events') }}"
) }}
-- Web and app events. The cookie / device id and the login id are identifiers of a person:
-- only their keyed hashes leave this model. The web/app identity record id is the cookie /
-- device id, so its hash joins the identity map.
select
    event_id,
    channel,
    event_type,
    event_time as occurred_at,
    event_date,
    channel as identity_source,
    pseudonymise(anonymous_id) as identity_record_hash,
    pseudonymise(login_id) as login_id_hash,
    session_id,
    channel || ':' || session_id as session_key,
    product_id,
    quantity,
    search_query,
    order_id,
    page,
    referrer,
    utm_source,
    utm_medium,
    coalesce(campaign_id, utm_campaign) as campaign_id,
    click_id,
    platform,
    _batch_id,
    _ingested_at,
    _lake_file
from {{ lake_files_unread('silver', 'clickstream_events') }}
