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
    _ingested_at
from {{ source('silver', 'email_events') }}
