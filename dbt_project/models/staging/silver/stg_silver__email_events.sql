{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lake_files_gone('silver', 'email_events') }}",
    post_hook="{{ record_lake_files_state('silver', 'email_events') }}"
) }}
-- E-mail events. The recipient address is the identity record id of source `email`: only its
-- keyed hash is kept.
select
    event_id,
    event_type,
    'email' as identity_source,
    pseudonymise(email) as identity_record_hash,
    event_time as occurred_at,
    event_date,
    campaign_id,
    url,
    _batch_id,
    _ingested_at,
    _lake_file
from {{ lake_files_unread('silver', 'email_events') }}
